/**
 * Device login (RFC 8628) through the node's routes, end to end against a real OpenID provider on loopback:
 * POST /auth/device, the user approving (or denying) on the issuer's verification page, POST
 * /auth/device/poll until a session comes, and that session chatting over a WebSocket. Also expiry,
 * slow_down, the per-address rate limit on starts, body limits and an issuer without device login.
 * The clock moves with `vi.useFakeTimers({ toFake: ['Date'] })` (node and IdP read it; nothing sleeps).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { codeOf, postJson, startAuthNode, type AuthSetup, type JsonAnswer } from '../support/auth.ts';
import { TestClient } from '../support/ws-client.ts';

let setup: AuthSetup | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await setup?.close();
  setup = undefined;
});

interface Started {
  handle: string;
  userCode: string;
  verificationUri: string;
  expiresIn: number;
  interval: number;
}

async function start(url: string): Promise<Started> {
  const answer = await postJson(`${url}/auth/device`, {});
  expect(answer.status).toBe(200);
  return answer.body as unknown as Started;
}

function poll(url: string, handle: string): Promise<JsonAnswer> {
  return postJson(`${url}/auth/device/poll`, { handle });
}

function waitInterval(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

describe('device login through the node', () => {
  it('starts, is pending until the user approves, then gives a session whose token opens a socket that chats', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    setup = await startAuthNode();
    const { t, idp } = setup;
    const started = await start(t.url);
    expect(started.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(new URL(started.verificationUri).origin).toBe(idp.issuer.origin);
    expect(started.interval).toBe(5);
    expect(started.handle).not.toContain('device_code');

    const pending = await poll(t.url, started.handle);
    expect(pending.status).toBe(200);
    expect(pending.body).toEqual({ status: 'pending', interval: 5 });

    await idp.approveDevice(started.userCode, 'bob');
    waitInterval(started.interval);
    const done = await poll(t.url, started.handle);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'ok', user: 'bob@example.com', token: expect.any(String), expiresAt: expect.any(Number) });
    const token = done.body.token as string;

    const socket = await TestClient.connect(t.wsUrl, { authorization: `Bearer ${token}` });
    clients.push(socket);
    expect((await socket.nextOfType('welcome')).user).toBe('bob@example.com');
    socket.send({ type: 'message', text: 'from the console', cid: 'd-1' });
    expect(await socket.nextOfType('receive')).toMatchObject({ from: 'bob@example.com', text: 'from the console' });
    expect(t.node.runtime.state.identities.get('bob@example.com')?.subject).toBe('bob');

    // The handle produced its session; it does not produce another.
    waitInterval(started.interval);
    const again = await poll(t.url, started.handle);
    expect([again.status, codeOf(again)]).toEqual([410, 'device_handle_used']);
  });

  it('reports denied when the user aborts on the verification page', async () => {
    setup = await startAuthNode();
    const { t, idp } = setup;
    const started = await start(t.url);
    await idp.denyDevice(started.userCode);
    const denied = await poll(t.url, started.handle);
    expect([denied.status, denied.body]).toEqual([200, { status: 'denied' }]);
  });

  it('reports expired once the device code has expired at the issuer', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    setup = await startAuthNode();
    const { t } = setup;
    const started = await start(t.url);
    expect((await poll(t.url, started.handle)).body).toMatchObject({ status: 'pending' });
    waitInterval(started.expiresIn + 1);
    const expired = await poll(t.url, started.handle);
    expect([expired.status, expired.body]).toEqual([200, { status: 'expired' }]);
  });

  it('tells a client that polls too fast to slow down, with a longer interval', async () => {
    setup = await startAuthNode();
    const { t } = setup;
    const started = await start(t.url);
    expect((await poll(t.url, started.handle)).body).toEqual({ status: 'pending', interval: 5 });
    expect((await poll(t.url, started.handle)).body).toEqual({ status: 'slow_down', interval: 10 });
  });

  it('rate-limits device starts per address: the sixth start in a burst gets 429 rate_limited', async () => {
    setup = await startAuthNode();
    const { t } = setup;
    for (let i = 0; i < 5; i += 1) await start(t.url);
    const sixth = await postJson(`${t.url}/auth/device`, {});
    expect([sixth.status, codeOf(sixth)]).toEqual([429, 'rate_limited']);
  });

  it('refuses a bad handle (400 device_handle_invalid), a missing one and a bad body (400 invalid_frame), and a body over the cap (413)', async () => {
    setup = await startAuthNode();
    const { t } = setup;
    const bogus = await poll(t.url, 'not.a.real.handle.at-all');
    expect([bogus.status, codeOf(bogus)]).toEqual([400, 'device_handle_invalid']);
    const missing = await postJson(`${t.url}/auth/device/poll`, {});
    expect([missing.status, codeOf(missing)]).toEqual([400, 'invalid_frame']);
    const notJson = await postJson(`${t.url}/auth/device/poll`, '{"handle":');
    expect([notJson.status, codeOf(notJson)]).toEqual([400, 'invalid_frame']);
    const huge = await postJson(`${t.url}/auth/device/poll`, { handle: 'x'.repeat(10_000) });
    expect(huge.status).toBe(413);
  });

  it('answers 501 device_flow_unsupported, and /auth/config says deviceFlow false, when the issuer offers no device login', async () => {
    setup = await startAuthNode({ idp: { deviceFlow: false } });
    const { t } = setup;
    const refused = await postJson(`${t.url}/auth/device`, {});
    expect([refused.status, codeOf(refused)]).toEqual([501, 'device_flow_unsupported']);
    const config = await fetch(`${t.url}/auth/config`);
    expect(await config.json()).toEqual({ oidc: true, devLogin: false, deviceFlow: false });
  });

  it('uses the separate device client when one is configured (as Google needs)', async () => {
    const deviceClient = { clientId: 'actor-chat-tv', clientSecret: 'actor-chat-tv-secret-0123456789abcdef' };
    setup = await startAuthNode({
      idp: { deviceClient, googleStyleDeviceAnswer: true },
      env: { CHAT_OIDC_DEVICE_CLIENT_ID: deviceClient.clientId, CHAT_OIDC_DEVICE_CLIENT_SECRET: deviceClient.clientSecret },
    });
    const { t, idp } = setup;
    const started = await start(t.url);
    await idp.approveDevice(started.userCode, 'alice');
    vi.useFakeTimers({ toFake: ['Date'] });
    waitInterval(started.interval);
    const done = await poll(t.url, started.handle);
    expect(done.body).toMatchObject({ status: 'ok', user: 'alice@example.com' });
  });
});
