/**
 * TLS: the node serves HTTPS and WSS from uWebSockets.js's SSLApp with a certificate the test generates
 * (openssl, self-signed for 127.0.0.1, trusted by the test clients as their only CA); session and flow
 * cookies get `Secure`; a message goes round trip over WSS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startAuthNode, type AuthSetup } from '../support/auth.ts';
import { startTestNode, type TestNode } from '../support/node.ts';

const dir = mkdtempSync(join(tmpdir(), 'actor-chat-tls-'));
const certFile = join(dir, 'cert.pem');
const keyFile = join(dir, 'key.pem');

// The certificate is made by openssl; without it the suite fails (scripts/ensure-test-packages.sh, run by
// `npm test`, installs Debian's package), rather than skip and look green.
beforeAll(() => {
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-keyout', keyFile, '-out', certFile, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? 'openssl is missing: the TLS tests need it to make their certificate (apt-get install -y openssl)' : `openssl could not make the test certificate: ${String(error)}`, { cause: error });
  }
});
const tlsEnv = { CHAT_TLS_CERT: certFile, CHAT_TLS_KEY: keyFile };

let t: TestNode | undefined;
let auth: AuthSetup | undefined;

afterEach(async () => {
  await t?.close();
  await auth?.close();
  t = undefined;
  auth = undefined;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request that trusts only the test certificate. */
function httpsGet(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, ca: readFileSync(certFile) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function setCookies(answer: Answer): string[] {
  const value = answer.headers['set-cookie'];
  return Array.isArray(value) ? value : value ? [value] : [];
}

describe('TLS (SSLApp)', () => {
  it('serves HTTPS with the configured certificate', async () => {
    t = await startTestNode(tlsEnv);
    expect(t.url).toMatch(/^https:\/\//);
    const health = await httpsGet(`${t.url}/healthz`);
    expect([health.status, JSON.parse(health.body)]).toEqual([200, { status: 'ok' }]);
  });

  it('is refused by a client that does not trust the certificate', async () => {
    t = await startTestNode(tlsEnv);
    await expect(fetch(`${t.url}/healthz`)).rejects.toThrow();
  });

  it('marks the session cookie Secure, and a message goes round trip over WSS with it', async () => {
    t = await startTestNode(tlsEnv);
    const login = await httpsGet(`${t.url}/login/alice`);
    expect(login.status).toBe(200);
    const [cookieLine] = setCookies(login);
    expect(cookieLine).toMatch(/; Secure/);
    expect(cookieLine).toMatch(/HttpOnly/);
    const cookie = cookieLine!.split(';')[0]!;

    expect(t.wsUrl).toMatch(/^wss:\/\//);
    const socket = new WebSocket(t.wsUrl, { headers: { cookie, origin: t.url }, ca: readFileSync(certFile) });
    const frames: Array<Record<string, unknown>> = [];
    const received = new Promise<Record<string, unknown>>((resolve, reject) => {
      socket.on('message', (data: WebSocket.RawData) => {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        frames.push(frame);
        if (frame.type === 'welcome') socket.send(JSON.stringify({ type: 'message', text: 'over TLS', cid: 't-1' }));
        if (frame.type === 'receive') resolve(frame);
      });
      socket.once('error', reject);
    });
    expect(await received).toMatchObject({ from: 'alice', text: 'over TLS', cid: 't-1' });
    expect(frames[0]).toMatchObject({ type: 'welcome', user: 'alice' });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.close();
    await closed;
  });

  it('marks the OIDC flow cookie Secure and redirects to the issuer over HTTPS', async () => {
    auth = await startAuthNode({ env: tlsEnv });
    const start = await httpsGet(`${auth.t.url}/auth/login`);
    expect(start.status).toBe(302);
    expect(String(start.headers.location)).toMatch(new RegExp(`^${auth.idp.issuer.origin}/`));
    const [flow] = setCookies(start);
    expect(flow).toMatch(/^oidc_flow=/);
    expect(flow).toMatch(/; Secure/);
  });
});
