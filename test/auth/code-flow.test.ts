/**
 * Browser login through the node's own routes against a real OpenID provider on loopback: /auth/login,
 * the issuer's login and consent pages, /auth/callback, then the session cookie opens a WebSocket and
 * chats. Also /auth/config, refused callbacks, POST /auth/logout, name binding (name_taken) and the
 * cross-site WebSocket rule for OIDC session cookies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FLOW_COOKIE } from '../../src/auth/oidc.ts';
import { browserLogin, codeOf, cookieOf, getJson, postJson, PUBLIC_URL, startAuthNode, type AuthSetup } from '../support/auth.ts';
import { startTestNode } from '../support/node.ts';
import { TestClient } from '../support/ws-client.ts';

let setup: AuthSetup | undefined;
const clients: TestClient[] = [];

async function connect(url: string, headers: Record<string, string>): Promise<TestClient> {
  const client = await TestClient.connect(url, headers);
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await setup?.close();
  setup = undefined;
});

describe('OIDC browser login through the node', () => {
  it('redirects to the issuer with PKCE, state and nonce, and sets a short-lived HttpOnly flow cookie', async () => {
    setup = await startAuthNode();
    const answer = await fetch(`${setup.t.url}/auth/login`, { redirect: 'manual' });
    expect(answer.status).toBe(302);
    const location = new URL(answer.headers.get('location') ?? '');
    expect(location.origin).toBe(setup.idp.issuer.origin);
    expect(location.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/auth/callback`);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('state')).toBeTruthy();
    expect(location.searchParams.get('nonce')).toBeTruthy();
    const flow = cookieOf(answer, FLOW_COOKIE.name);
    expect(flow?.line).toMatch(/HttpOnly/i);
    expect(flow?.line).toMatch(/SameSite=Lax/i);
    expect(flow?.line).toMatch(/Path=\/auth\/callback/);
    expect(flow?.line).toMatch(/Max-Age=600/);
    expect(flow?.line).not.toMatch(/Secure/i); // plain http here; auth.tls.test.ts checks Secure
  });

  it('logs alice in: the callback sets the session cookie, clears the flow cookie, redirects to / and the cookie opens a socket that chats', async () => {
    setup = await startAuthNode();
    const { t, idp } = setup;
    const login = await browserLogin(t, idp, 'alice');
    expect(login.done.status).toBe(302);
    expect(login.done.headers.get('location')).toBe('/');
    expect(cookieOf(login.done, FLOW_COOKIE.name)?.line).toMatch(/Max-Age=0/);
    const session = cookieOf(login.done, 'session');
    expect(session?.line).toMatch(/HttpOnly/i);
    expect(session?.line).toMatch(/Max-Age=43200/);
    expect(login.cookie).toBeDefined();

    // The same session as dev login: the presence list accepts it, and the name comes from the e-mail claim.
    const listed = await getJson(`${t.url}/list-users`, { cookie: login.cookie! });
    expect(listed.status).toBe(200);

    const socket = await connect(t.wsUrl, { cookie: login.cookie!, origin: t.url });
    const welcome = await socket.nextOfType('welcome');
    expect(welcome.user).toBe('alice@example.com');
    socket.send({ type: 'message', text: 'hello from OIDC', cid: 'c-1' });
    // A refusal would be an error frame with the cid: waiting for either makes it a failure, not a timeout.
    const received = await socket.next((frame) => frame.cid === 'c-1');
    expect(received).toMatchObject({ type: 'receive', from: 'alice@example.com', text: 'hello from OIDC' });

    // The identity is journaled as bound to the name, with the binding's time.
    expect(t.node.runtime.state.identities.get('alice@example.com')).toEqual({ issuer: idp.issuer.href.replace(/\/$/, ''), subject: 'alice', at: expect.any(Number) });
  });

  it('answers /auth/config with what the web client needs', async () => {
    setup = await startAuthNode();
    expect((await getJson(`${setup.t.url}/auth/config`)).body).toEqual({ oidc: true, devLogin: false, deviceFlow: true });
  });

  it('keeps dev login off when OIDC is configured (404 dev_login_disabled) unless CHAT_DEV_LOGIN=true', async () => {
    setup = await startAuthNode();
    const off = await getJson(`${setup.t.url}/login/mallory`);
    expect([off.status, codeOf(off)]).toEqual([404, 'dev_login_disabled']);
    await setup.close();
    setup = await startAuthNode({ env: { CHAT_DEV_LOGIN: 'true' } });
    expect((await getJson(`${setup.t.url}/login/mallory`)).status).toBe(200);
    expect((await getJson(`${setup.t.url}/auth/config`)).body).toMatchObject({ oidc: true, devLogin: true });
  });

  it('refuses a callback without the flow cookie (400 oidc_flow_missing) and a cancelled login (403 oidc_access_denied)', async () => {
    setup = await startAuthNode();
    const { t, idp } = setup;
    const login = await browserLogin(t, idp, 'bob');
    const replayElsewhere = await getJson(login.callbackUrl.href);
    expect([replayElsewhere.status, codeOf(replayElsewhere)]).toEqual([400, 'oidc_flow_missing']);

    const start = await fetch(`${t.url}/auth/login`, { redirect: 'manual' });
    const flow = cookieOf(start, FLOW_COOKIE.name)!.pair;
    const cancelled = await idp.cancel(start.headers.get('location')!, `${PUBLIC_URL}/auth/callback`);
    const refused = await getJson(new URL(`${cancelled.pathname}${cancelled.search}`, t.url).href, { cookie: flow });
    expect([refused.status, codeOf(refused)]).toEqual([403, 'oidc_access_denied']);
    expect(cookieOf(refused.response, FLOW_COOKIE.name)?.line).toMatch(/Max-Age=0/);
    expect(cookieOf(refused.response, 'session')).toBeUndefined();
  });

  it('refuses a replayed callback (400 oidc_flow_replayed)', async () => {
    setup = await startAuthNode();
    const { t, idp } = setup;
    const start = await fetch(`${t.url}/auth/login`, { redirect: 'manual' });
    const flow = cookieOf(start, FLOW_COOKIE.name)!.pair;
    const atPublic = await idp.authorize(start.headers.get('location')!, 'alice', `${PUBLIC_URL}/auth/callback`);
    const callback = new URL(`${atPublic.pathname}${atPublic.search}`, t.url).href;
    expect((await getJson(callback, { cookie: flow })).status).toBe(302);
    const again = await getJson(callback, { cookie: flow });
    expect([again.status, codeOf(again)]).toEqual([400, 'oidc_flow_replayed']);
  });

  it('answers 404 not_found on /auth/login and 501 device_flow_unsupported on /auth/device when OIDC is not configured', async () => {
    const t = await startTestNode({});
    try {
      const login = await getJson(`${t.url}/auth/login`);
      expect([login.status, codeOf(login)]).toEqual([404, 'not_found']);
      const device = await postJson(`${t.url}/auth/device`, {});
      expect([device.status, codeOf(device)]).toEqual([501, 'device_flow_unsupported']);
      expect((await getJson(`${t.url}/auth/config`)).body).toEqual({ oidc: false, devLogin: true, deviceFlow: false });
    } finally {
      await t.close();
    }
  });
});

describe('POST /auth/logout', () => {
  it('revokes the caller\'s own OIDC session at once: sockets closed with 4001, the cookie refused afterwards (401 session_revoked)', async () => {
    setup = await startAuthNode();
    const { t, idp } = setup;
    const { cookie } = await browserLogin(t, idp, 'alice');
    const socket = await connect(t.wsUrl, { cookie: cookie!, origin: t.url });
    await socket.nextOfType('welcome');

    const out = await postJson(`${t.url}/auth/logout`, undefined, { cookie: cookie! });
    expect(out.status).toBe(200);
    expect(out.body).toEqual({ user: 'alice@example.com', loggedOut: true });
    expect(cookieOf(out.response, 'session')?.line).toMatch(/Max-Age=0/);
    expect((await socket.waitClosed()).code).toBe(4001);

    const after = await getJson(`${t.url}/list-users`, { cookie: cookie! });
    expect([after.status, codeOf(after)]).toEqual([401, 'session_revoked']);
    await expect(TestClient.connect(t.wsUrl, { cookie: cookie!, origin: t.url })).rejects.toMatchObject({ status: 401 });
    const twice = await postJson(`${t.url}/auth/logout`, undefined, { cookie: cookie! });
    expect([twice.status, codeOf(twice)]).toEqual([401, 'session_revoked']);
  });

  it('revokes a bearer session too, and refuses a request with no session (401 unauthorized)', async () => {
    setup = await startAuthNode({ env: { CHAT_DEV_LOGIN: 'true' } });
    const { t } = setup;
    const { token } = await t.login('carol');
    const out = await postJson(`${t.url}/auth/logout`, undefined, { authorization: `Bearer ${token}` });
    expect(out.body).toEqual({ user: 'carol', loggedOut: true });
    const after = await getJson(`${t.url}/list-users`, { authorization: `Bearer ${token}` });
    expect(codeOf(after)).toBe('session_revoked');
    const anonymous = await postJson(`${t.url}/auth/logout`);
    expect([anonymous.status, codeOf(anonymous)]).toEqual([401, 'unauthorized']);
  });
});

describe('name binding', () => {
  it('refuses another identity claiming a bound name with 409 name_taken, while the owner logs in again', async () => {
    // Two accounts whose e-mail claim is the same name: the second one is someone else.
    const accounts = [
      { login: 'alice', claims: { email: 'shared@example.com', email_verified: true } },
      { login: 'impostor', claims: { email: 'shared@example.com', email_verified: true } },
    ];
    setup = await startAuthNode({ idp: { accounts } });
    const { t, idp } = setup;
    expect((await browserLogin(t, idp, 'alice')).done.status).toBe(302);
    const taken = await browserLogin(t, idp, 'impostor');
    expect(taken.done.status).toBe(409);
    expect(await taken.done.json()).toMatchObject({ error: { code: 'name_taken' } });
    expect(taken.cookie).toBeUndefined();
    expect((await browserLogin(t, idp, 'alice')).done.status).toBe(302);
    // Bound once, journaled once.
    const bound = t.node.runtime.state.identities.get('shared@example.com');
    expect(bound?.subject).toBe('alice');
  });

  it('refuses dev login of a name bound to an OIDC identity (409 name_taken) even with dev login on', async () => {
    setup = await startAuthNode({ env: { CHAT_DEV_LOGIN: 'true' } });
    const { t, idp } = setup;
    await browserLogin(t, idp, 'bob');
    const squat = await getJson(`${t.url}/login/${encodeURIComponent('bob@example.com')}`);
    expect([squat.status, codeOf(squat)]).toEqual([409, 'name_taken']);
    expect((await getJson(`${t.url}/login/someone-else`)).status).toBe(200);
  });
});

describe('cross-site WebSocket hijacking, OIDC session cookie', () => {
  it('refuses a cookie-authenticated upgrade from another origin with 403 forbidden, accepts the node\'s own and the public origin', async () => {
    setup = await startAuthNode();
    const { t, idp } = setup;
    const { cookie } = await browserLogin(t, idp, 'alice');
    await expect(TestClient.connect(t.wsUrl, { cookie: cookie!, origin: 'https://evil.example' })).rejects.toMatchObject({
      status: 403,
      body: expect.stringContaining('"forbidden"'),
    });
    const own = await connect(t.wsUrl, { cookie: cookie!, origin: t.url });
    expect((await own.nextOfType('welcome')).user).toBe('alice@example.com');
    const publicOrigin = await connect(t.wsUrl, { cookie: cookie!, origin: PUBLIC_URL });
    expect((await publicOrigin.nextOfType('welcome')).user).toBe('alice@example.com');
  });

  it('lets a bearer token in from any origin (a bearer token is not sent by browsers on their own)', async () => {
    setup = await startAuthNode({ env: { CHAT_DEV_LOGIN: 'true' } });
    const { t } = setup;
    const { token } = await t.login('dave');
    const socket = await connect(t.wsUrl, { authorization: `Bearer ${token}`, origin: 'https://elsewhere.example' });
    expect((await socket.nextOfType('welcome')).user).toBe('dave');
  });
});
