/**
 * A real local OpenID provider for auth tests and development: `oidc-provider` v9 on 127.0.0.1, with a
 * confidential client (code + device grants, PKCE required), test accounts, its development
 * login/consent pages, and helpers that play the user at those pages over HTTP (`Browser`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Account } from 'oidc-provider';
import { Browser, readLinks, theForm, type Page } from './browser.ts';

export interface TestAccount {
  /** What the user types on the login page; also the `sub`. */
  login: string;
  claims: Record<string, unknown>;
}

export const TEST_ACCOUNTS: readonly TestAccount[] = [
  { login: 'alice', claims: { email: 'alice@example.com', email_verified: true, preferred_username: 'alice', name: 'Alice' } },
  { login: 'bob', claims: { email: 'bob@example.com', email_verified: true, preferred_username: 'bob', name: 'Bob' } },
  // No e-mail: the name falls back to preferred_username.
  { login: 'carol', claims: { preferred_username: 'carol.c', name: 'Carol' } },
  // Unusable claims: the name falls back to one derived from sub.
  { login: 'dave smith', claims: { email: 'dave@example.com', email_verified: false, preferred_username: 'Dave Smith' } },
];

export interface IdpOptions {
  /** Redirect URIs registered for the test client (the node's `/auth/callback`). */
  redirectUris: string[];
  clientId?: string;
  clientSecret?: string;
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Offer the device flow (default true). */
  deviceFlow?: boolean;
  /**
   * Register a separate device-only client (as Google needs); the main client then has the code grant
   * only. Default: the main client has both grants.
   */
  deviceClient?: { clientId: string; clientSecret: string };
  /** Answer device authorization with Google's `verification_url` instead of `verification_uri`. */
  googleStyleDeviceAnswer?: boolean;
  /** Seconds a device code lives (default 600). */
  deviceCodeTtl?: number;
  accounts?: readonly TestAccount[];
  /** Fixed port (dev script); default 0, an ephemeral port. */
  port?: number;
  host?: string;
}

export interface Idp {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  /** Stops the IdP; calling it again is harmless. */
  close(): Promise<void>;
  /** Plays the user: follows `authorizationUrl` through login and consent as `login`; returns the callback URL. */
  authorize(authorizationUrl: string | URL, login: string, callbackPrefix: string): Promise<URL>;
  /** Plays the user: follows `authorizationUrl` and clicks Cancel on the login page; returns the callback URL. */
  cancel(authorizationUrl: string | URL, callbackPrefix: string): Promise<URL>;
  /** Plays the user on the device verification page: enters `userCode`, logs in as `login`, consents. */
  approveDevice(userCode: string, login: string): Promise<void>;
  /** Plays the user on the device verification page: enters `userCode`, then aborts. */
  denyDevice(userCode: string): Promise<void>;
}

export async function startIdp(options: IdpOptions): Promise<Idp> {
  const host = options.host ?? '127.0.0.1';
  const clientId = options.clientId ?? 'actor-chat';
  const clientSecret = options.clientSecret ?? 'actor-chat-test-secret-0123456789abcdef';
  const accounts = new Map((options.accounts ?? TEST_ACCOUNTS).map((a) => [a.login, a]));
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = new URL(`http://${host}:${port}`);
  const provider = new Provider(issuer.href.replace(/\/$/, ''), await configuration(options, clientId, clientSecret, accounts));
  if (options.googleStyleDeviceAnswer) provider.use(renameVerificationUri);
  server.on('request', provider.callback());

  let closing: Promise<void> | undefined;
  const idp: Idp = {
    issuer,
    clientId,
    clientSecret,
    close: () => (closing ??= closeServer(server)),
    authorize: (url, login, callbackPrefix) => authorize(url, login, callbackPrefix),
    cancel: (url, callbackPrefix) => cancel(url, callbackPrefix),
    approveDevice: (userCode, login) => deviceDecision(issuer, userCode, { login }),
    denyDevice: (userCode) => deviceDecision(issuer, userCode, { abort: true }),
  };
  return idp;
}

async function configuration(
  options: IdpOptions,
  clientId: string,
  clientSecret: string,
  accounts: Map<string, TestAccount>,
): Promise<Record<string, unknown>> {
  const jwk = await signingKey();
  const clients = registeredClients(options, clientId, clientSecret);
  return {
    clients,
    jwks: { keys: [jwk] },
    cookies: { keys: ['actor-chat-test-idp-cookie-key'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    findAccount: (_ctx: unknown, id: string): Account | undefined => {
      const account = accounts.get(id);
      if (!account) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...account.claims }) };
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: options.deviceFlow ?? true },
      revocation: { enabled: true },
    },
    pkce: { required: () => true },
    ttl: {
      DeviceCode: options.deviceCodeTtl ?? 600,
      AccessToken: 3600,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
  };
}

async function renameVerificationUri(ctx: { path: string; body: unknown }, next: () => Promise<void>): Promise<void> {
  await next();
  if (ctx.path !== '/device/auth' || typeof ctx.body !== 'object' || ctx.body === null) return;
  const { verification_uri: uri, verification_uri_complete: _complete, ...rest } = ctx.body as Record<string, unknown>;
  ctx.body = { ...rest, verification_url: uri };
}

let signingJwk: Promise<Record<string, unknown>> | undefined;

/** One RS256 signing key per process (RSA generation is the slowest part of starting an IdP). */
function signingKey(): Promise<Record<string, unknown>> {
  signingJwk ??= generateKeyPair('RS256', { extractable: true }).then(async ({ privateKey }) => ({
    ...(await exportJWK(privateKey)),
    use: 'sig',
    alg: 'RS256',
    kid: 'test-idp',
  }));
  return signingJwk;
}

/** The node's confidential client, and the device-only client when asked for. */
function registeredClients(options: IdpOptions, clientId: string, clientSecret: string): Array<Record<string, unknown>> {
  const deviceFlow = options.deviceFlow ?? true;
  const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';
  const authMethod = options.tokenEndpointAuthMethod ?? 'client_secret_basic';
  const mainGrants = ['authorization_code', ...(deviceFlow && !options.deviceClient ? [deviceGrant] : [])];
  const clients: Array<Record<string, unknown>> = [
    {
      client_id: clientId,
      client_secret: clientSecret,
      client_name: 'actor-chat',
      redirect_uris: options.redirectUris,
      grant_types: mainGrants,
      response_types: ['code'],
      token_endpoint_auth_method: authMethod,
    },
  ];
  if (options.deviceClient) {
    clients.push({
      client_id: options.deviceClient.clientId,
      client_secret: options.deviceClient.clientSecret,
      client_name: 'actor-chat console',
      redirect_uris: [],
      grant_types: [deviceGrant],
      response_types: [],
      token_endpoint_auth_method: authMethod,
    });
  }
  return clients;
}

/** Follows the authorization request through login and consent; stops at the redirect to the node. */
async function authorize(authorizationUrl: string | URL, login: string, callbackPrefix: string): Promise<URL> {
  const browser = new Browser();
  const stopAt = (url: URL): boolean => url.href.startsWith(callbackPrefix);
  const page = await browser.go(authorizationUrl, {}, stopAt);
  const done = await finishInteractions(browser, page, login, stopAt);
  if (!done.stoppedAt) throw new Error(`the IdP did not redirect to ${callbackPrefix}; last page ${done.url.href} (${done.status}):\n${done.body.slice(0, 1500)}`);
  return done.stoppedAt;
}

/** Follows the authorization request to the login page and clicks its Cancel link. */
async function cancel(authorizationUrl: string | URL, callbackPrefix: string): Promise<URL> {
  const browser = new Browser();
  const stopAt = (url: URL): boolean => url.href.startsWith(callbackPrefix);
  const page = await browser.go(authorizationUrl, {}, stopAt);
  const abort = readLinks(page).find((link) => link.pathname.endsWith('/abort'));
  if (!abort) throw new Error(`no Cancel link on ${page.url.href}:\n${page.body.slice(0, 1500)}`);
  const done = await browser.go(abort, {}, stopAt);
  if (!done.stoppedAt) throw new Error(`cancel did not redirect to ${callbackPrefix}; last page ${done.url.href} (${done.status})`);
  return done.stoppedAt;
}

/** Submits the login page (as `login`) and the consent page, as often as the IdP shows them. */
async function finishInteractions(
  browser: Browser,
  first: Page & { stoppedAt?: URL },
  login: string,
  stopAt?: (url: URL) => boolean,
): Promise<Page & { stoppedAt?: URL }> {
  let page = first;
  for (let step = 0; step < 4 && !page.stoppedAt; step += 1) {
    if (!page.url.pathname.startsWith('/interaction/')) return page;
    const form = theForm(page);
    const overrides: Record<string, string> = form.fields['prompt'] === 'login' ? { login, password: 'any' } : {};
    page = await browser.submit(form, overrides, stopAt);
  }
  return page;
}

/** The device verification page: enter the code, then confirm (and log in and consent) or abort. */
async function deviceDecision(issuer: URL, userCode: string, decision: { login: string } | { abort: true }): Promise<void> {
  const browser = new Browser();
  const entry = await browser.go(new URL('/device', issuer));
  const confirm = await browser.submit(theForm(entry, 'op.deviceInputForm'), { user_code: userCode });
  const confirmForm = theForm(confirm, 'op.deviceConfirmForm');
  if ('abort' in decision) {
    const aborted = await browser.submit(confirmForm, { abort: 'yes' });
    if (!aborted.body.includes('interrupted')) throw new Error(`device abort was not acknowledged:\n${aborted.body.slice(0, 1500)}`);
    return;
  }
  const next = await browser.submit(confirmForm);
  const done = await finishInteractions(browser, next, decision.login);
  if (!done.body.includes('Sign-in Success')) {
    throw new Error(`device approval did not succeed at ${done.url.href} (${done.status}):\n${done.body.slice(0, 1500)}`);
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
}
