/**
 * Per-client-IP limits: logins (dev and the OIDC starts) and WebSocket upgrades are token buckets per
 * address, 429 `rate_limited` past them; `0` turns a limit off; X-Forwarded-For counts only from
 * the proxies named in CHAT_TRUST_PROXY; the buckets' memory is bounded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node.ts';
import { startAuthNode, type AuthSetup } from '../support/auth.ts';
import { TestClient, bearer } from '../support/ws-client.ts';
import { SioClient } from '../support/sio-client.ts';
import { AddressLimits, MAX_TRACKED_ADDRESSES } from '../../src/http/address-limits.ts';
import { clientIpResolver } from '../../src/http/client-ip.ts';
import { loadConfig } from '../../src/config.ts';

let node: TestNode | undefined;
let auth: AuthSetup | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await node?.close();
  await auth?.close();
  node = auth = undefined;
});

const login = (user: string, headers: Record<string, string> = {}) => fetch(`${node!.url}/login/${user}`, { headers });
const codeOf = async (response: Response) => ((await response.json()) as { error?: { code: string } }).error?.code;

async function metric(t: TestNode, line: string): Promise<number> {
  const text = await t.node.metrics.registry.metrics();
  return Number(text.split('\n').find((candidate) => candidate.startsWith(`${line} `))?.split(' ')[1] ?? 'NaN');
}

describe('logins per client IP', () => {
  it('allow a burst, then answer 429 rate_limited', async () => {
    node = await startTestNode({ CHAT_LOGIN_RATE_PER_MIN: '6', CHAT_LOGIN_BURST: '3' });
    for (let i = 0; i < 3; i++) expect((await login(`u${i}`)).status).toBe(200);
    const refused = await login('u3');
    expect(refused.status).toBe(429);
    expect(await codeOf(refused)).toBe('rate_limited');
    expect(await metric(node, 'chat_address_limited_total{limit="login"}')).toBe(1);
    expect(await metric(node, 'chat_address_limit_tracked{limit="login"}')).toBe(1);
  });

  it('are not limited with CHAT_LOGIN_RATE_PER_MIN=0', async () => {
    node = await startTestNode({ CHAT_LOGIN_RATE_PER_MIN: '0', CHAT_LOGIN_BURST: '1' });
    for (let i = 0; i < 50; i++) expect((await login(`u${i}`)).status).toBe(200);
  });

  it('believe X-Forwarded-For only from a trusted proxy', async () => {
    node = await startTestNode({ CHAT_LOGIN_RATE_PER_MIN: '1', CHAT_LOGIN_BURST: '1', CHAT_TRUST_PROXY: '127.0.0.1/8' });
    expect((await login('a', { 'x-forwarded-for': '203.0.113.1' })).status).toBe(200);
    expect((await login('b', { 'x-forwarded-for': '203.0.113.1' })).status).toBe(429);
    expect((await login('c', { 'x-forwarded-for': '203.0.113.2' })).status).toBe(200);
    // A client cannot pick its address by prepending to the chain: the trusted proxy's last hop is what counts.
    expect((await login('d', { 'x-forwarded-for': '198.51.100.9, 203.0.113.2' })).status).toBe(429);
    await node.close();

    node = await startTestNode({ CHAT_LOGIN_RATE_PER_MIN: '1', CHAT_LOGIN_BURST: '1' });
    expect((await login('a', { 'x-forwarded-for': '203.0.113.1' })).status).toBe(200);
    expect((await login('b', { 'x-forwarded-for': '203.0.113.2' })).status).toBe(429); // no trusted proxy: the socket address
  });

  it('count the OIDC starts /auth/login and POST /auth/device too', async () => {
    auth = await startAuthNode({ env: { CHAT_LOGIN_RATE_PER_MIN: '1', CHAT_LOGIN_BURST: '2' } });
    expect((await fetch(`${auth.t.url}/auth/login`, { redirect: 'manual' })).status).toBe(302);
    expect((await fetch(`${auth.t.url}/auth/login`, { redirect: 'manual' })).status).toBe(302);
    const refused = await fetch(`${auth.t.url}/auth/login`, { redirect: 'manual' });
    expect([refused.status, await codeOf(refused)]).toEqual([429, 'rate_limited']);
    const device = await fetch(`${auth.t.url}/auth/device`, { method: 'POST', body: '{}' });
    expect([device.status, await codeOf(device)]).toEqual([429, 'rate_limited']);
  });
});

describe('upgrades per client IP', () => {
  it('allow a burst, then answer 429 rate_limited and open no socket', async () => {
    node = await startTestNode({ CHAT_UPGRADE_RATE_PER_MIN: '6', CHAT_UPGRADE_BURST: '2' });
    const { token } = await node.login('alice');
    for (let i = 0; i < 2; i++) clients.push(await TestClient.connect(node.wsUrl, bearer(token)));
    const refused = await TestClient.connect(node.wsUrl, bearer(token)).catch((error: { status: number; body: string }) => error);
    expect((refused as { status: number }).status).toBe(429);
    expect(JSON.parse((refused as { body: string }).body).error.code).toBe('rate_limited');
    expect(node.node.gateway.connections).toBe(2);
    expect(await metric(node, 'chat_address_limited_total{limit="upgrade"}')).toBe(1);
  });
});

describe('Socket.IO handshakes per client IP', () => {
  it('share the upgrade limit', async () => {
    node = await startTestNode({ CHAT_UPGRADE_RATE_PER_MIN: '6', CHAT_UPGRADE_BURST: '1' });
    const { token } = await node.login('alice');
    const first = await SioClient.connect(node.url, { transports: ['websocket'], auth: { token } });
    try {
      const refused = await SioClient.connect(node.url, { transports: ['websocket'], auth: { token } }).then(
        (client) => (client.close(), new Error('connected')),
        (error: Error) => error,
      );
      expect(refused.message).toBe('rate_limited');
    } finally {
      first.close();
    }
  });
});

describe('the buckets', () => {
  it('stay bounded in number whatever the addresses', () => {
    const limits = new AddressLimits({ login: { perMinute: 60, burst: 5 }, upgrade: { perMinute: 0, burst: 1 } }, clientIpResolver([]));
    for (let i = 0; i < MAX_TRACKED_ADDRESSES + 1000; i++) limits.check('login', { headers: {}, remoteAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
    expect(limits.tracked('login')).toBe(MAX_TRACKED_ADDRESSES);
    expect(limits.tracked('upgrade')).toBe(0);
  });

  it('refuse a CHAT_TRUST_PROXY that is not an address list', () => {
    expect(() => loadConfig({ CHAT_TRUST_PROXY: '10.0.0.0/8, not-an-ip' })).toThrow(/CHAT_TRUST_PROXY/);
  });
});
