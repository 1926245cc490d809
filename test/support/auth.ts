/**
 * Auth test support: a chat node with the `/auth/*` routes wired to a real local IdP (test/support/idp.ts),
 * a browser login played through the node's own routes, and small JSON request helpers.
 *
 * The node listens on port 0, but the IdP must know the redirect URI before the node starts, so the node is
 * configured with a fixed public URL (`PUBLIC_URL`, as behind a reverse proxy) and the test browser brings
 * the issuer's redirect to that URL back to the node's real address.
 */
import { onTestFailed } from 'vitest';
import { Browser } from './browser.ts';
import { startIdp, type Idp, type IdpOptions } from './idp.ts';
import { startTestNode, type TestNode } from './node.ts';

export const PUBLIC_URL = 'http://127.0.0.1:5999';
export const CALLBACK = `${PUBLIC_URL}/auth/callback`;

export interface AuthSetup {
  idp: Idp;
  t: TestNode;
  close(): Promise<void>;
}

export async function startAuthNode(options: { idp?: Partial<IdpOptions>; env?: Record<string, string> } = {}): Promise<AuthSetup> {
  let node: TestNode | undefined;
  // A failing (or timed-out) auth test prints the node's last log lines: what the node saw, and where it stopped.
  onTestFailed(() => console.error('node log tail:', JSON.stringify(node?.logs.slice(-20) ?? [], null, 1)));
  const idp = await startIdp({ redirectUris: [CALLBACK], ...options.idp });
  try {
    const t = await startTestNode(
      {
        CHAT_OIDC_ISSUER: idp.issuer.href,
        CHAT_OIDC_CLIENT_ID: idp.clientId,
        CHAT_OIDC_CLIENT_SECRET: idp.clientSecret,
        CHAT_PUBLIC_URL: PUBLIC_URL,
        ...options.env,
      },
    );
    node = t;
    return { idp, t, close: async () => void (await Promise.all([t.close(), idp.close()])) };
  } catch (error) {
    await idp.close();
    throw error;
  }
}

/** The first `name=value` of a Set-Cookie list for cookie `name`, or undefined. */
export function cookieOf(response: Response, name: string): { pair: string; line: string } | undefined {
  const line = response.headers.getSetCookie().find((item) => item.startsWith(`${name}=`));
  return line === undefined ? undefined : { pair: line.split(';')[0]!, line };
}

export interface BrowserLogin {
  browser: Browser;
  /** The node's answer to GET /auth/login. */
  start: Response;
  /** The callback URL the issuer redirected to, rewritten to the node's real address. */
  callbackUrl: URL;
  /** The node's answer to the callback. */
  done: Response;
  /** `session=<token>` when the node set it. */
  cookie: string | undefined;
}

/** Plays a whole browser login through the node: /auth/login → issuer login and consent → /auth/callback. */
export async function browserLogin(t: { url: string }, idp: Idp, login: string): Promise<BrowserLogin> {
  const browser = new Browser();
  const start = await browser.request(`${t.url}/auth/login`);
  const location = start.headers.get('location');
  if (start.status !== 302 || location === null) throw new Error(`/auth/login answered ${start.status}: ${await start.text()}`);
  const atPublic = await idp.authorize(location, login, CALLBACK);
  const callbackUrl = new URL(`${atPublic.pathname}${atPublic.search}`, t.url);
  const done = await browser.request(callbackUrl);
  return { browser, start, callbackUrl, done, cookie: cookieOf(done, 'session')?.pair };
}

export interface JsonAnswer {
  status: number;
  body: Record<string, unknown>;
  response: Response;
}

export async function postJson(url: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const init: RequestInit = { method: 'POST', headers: { 'content-type': 'application/json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, response };
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  const response = await fetch(url, { headers, redirect: 'manual' });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, response };
}

/** The `error.code` of a JSON error answer. */
export function codeOf(answer: JsonAnswer): unknown {
  return (answer.body.error as { code?: unknown } | undefined)?.code;
}
