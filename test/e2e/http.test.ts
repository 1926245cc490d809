import { afterEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

let node: TestNode | undefined;
const clients: TestClient[] = [];

async function start(env: Record<string, string> = {}): Promise<TestNode> {
  node = await startTestNode(env);
  return node;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await node?.close();
  node = undefined;
});

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${node!.url}${path}`, { headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

describe('GET /healthz', () => {
  it('answers ok without a session', async () => {
    await start();
    expect(await get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('GET /login/:username', () => {
  it('issues a session token and an HttpOnly SameSite=Lax cookie', async () => {
    await start();
    const { status, body, headers } = await get('/login/alice');
    expect(status).toBe(200);
    expect(body.user).toBe('alice');
    expect(body.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(body.expiresAt).toBeGreaterThan(Date.now() + 11 * 3600_000);
    const cookie = headers.get('set-cookie')!;
    expect(cookie).toContain(`session=${body.token}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).not.toMatch(/Secure/);
  });

  it('accepts an e-mail address as a user name', async () => {
    await start();
    expect((await get('/login/alice%40example.com')).body.user).toBe('alice@example.com');
  });

  it.each(['-alice', 'a%20b', 'x'.repeat(65), '%E2%98%83', 'a%00b'])('refuses the name %s with invalid_username', async (name) => {
    await start();
    const { status, body } = await get(`/login/${name}`);
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_username');
    expect(body.error.message).toMatch(/user name/);
  });

  it('answers 404 dev_login_disabled when dev login is off', async () => {
    await start({ CHAT_DEV_LOGIN: 'false' });
    const { status, body } = await get('/login/alice');
    expect(status).toBe(404);
    expect(body.error.code).toBe('dev_login_disabled');
  });
});

describe('GET /logout/:username', () => {
  it('answers 401 without a session', async () => {
    await start();
    const { status, body, headers } = await get('/logout/alice');
    expect(status).toBe(401);
    expect(body.error.code).toBe('unauthorized');
    expect(headers.get('www-authenticate')).toBe('Bearer');
  });

  it("answers 403 for another user's name and leaves that user alone", async () => {
    const n = await start();
    const alice = await n.login('alice');
    const bob = await n.login('bob');
    const { status, body } = await get('/logout/alice', bearer(bob.token));
    expect(status).toBe(403);
    expect(body.error.code).toBe('forbidden');
    expect((await get('/list-users', bearer(alice.token))).status).toBe(200);
  });

  it('revokes the session: its token is refused by routes and upgrades afterwards', async () => {
    const n = await start();
    const alice = await n.login('alice');
    const out = await get('/logout/alice', bearer(alice.token));
    expect(out).toMatchObject({ status: 200, body: { user: 'alice', loggedOut: true } });
    expect(out.headers.get('set-cookie')).toMatch(/session=;.*Max-Age=0/);
    const again = await get('/list-users', bearer(alice.token));
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('session_revoked');
    await expect(TestClient.connect(n.wsUrl, bearer(alice.token))).rejects.toMatchObject({ status: 401 });
  });

  it('works with the session cookie instead of a bearer token', async () => {
    const n = await start();
    const alice = await n.login('alice');
    expect((await get('/logout/alice', { cookie: alice.cookie })).body).toEqual({ user: 'alice', loggedOut: true });
  });

  it('closes every socket of the user with code 4001', async () => {
    const n = await start();
    const alice = await n.login('alice');
    const tab1 = await TestClient.connect(n.wsUrl, bearer(alice.token));
    const tab2 = await TestClient.connect(n.wsUrl, bearer(alice.token));
    clients.push(tab1, tab2);
    await get('/logout/alice', bearer(alice.token));
    expect(await tab1.waitClosed()).toMatchObject({ code: 4001 });
    expect(await tab2.waitClosed()).toMatchObject({ code: 4001 });
    const observer = await n.login('observer');
    expect((await get('/list-users', bearer(observer.token))).body.users).toEqual([]);
  });
});

describe('session tokens', () => {
  it.each([
    ['a garbage token', 'not-a-jwt', 'invalid_token'],
    ['an alg:none token', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`, 'invalid_token'],
  ])('refuses %s with 401', async (_label, token, code) => {
    await start();
    const { status, body } = await get('/list-users', bearer(token));
    expect(status).toBe(401);
    expect(body.error.code).toBe(code);
  });

  it('refuses a token signed with another key', async () => {
    const other = await startTestNode({ CHAT_SESSION_SECRET: 'x'.repeat(40) });
    const foreign = await other.login('alice');
    await other.close();
    await start({ CHAT_SESSION_SECRET: 'y'.repeat(40) });
    const { status, body } = await get('/list-users', bearer(foreign.token));
    expect(status).toBe(401);
    expect(body.error.code).toBe('invalid_token');
  });
});

describe('GET /list-users', () => {
  it('pages the presence list sorted by name with limit, after and next', async () => {
    const n = await start({ CHAT_PAGE_SIZE: '3' });
    const names = ['erin', 'bob', 'dave', 'alice', 'carol'];
    for (const name of names) {
      const { token } = await n.login(name);
      clients.push(await TestClient.connect(n.wsUrl, bearer(token)));
    }
    const { token } = await n.login('zed');
    const first = await get('/list-users?limit=2', bearer(token));
    expect(first.body).toMatchObject({ users: [{ name: 'alice', status: 'online' }, { name: 'bob', status: 'online' }], online: 5, next: 'bob' });
    const second = await get(`/list-users?limit=2&after=${first.body.next}`, bearer(token));
    expect(second.body.users.map((u: { name: string }) => u.name)).toEqual(['carol', 'dave']);
    const last = await get(`/list-users?limit=2&after=${second.body.next}`, bearer(token));
    expect(last.body).toMatchObject({ users: [{ name: 'erin', status: 'online' }], next: null });
    const capped = await get('/list-users?limit=1000', bearer(token));
    expect(capped.body.users).toHaveLength(3);
    expect(capped.body.next).toBe('carol');
  });

  it.each(['limit=0', 'limit=abc', 'limit=-1', 'after=%20bad'])('refuses %s with invalid_query', async (query) => {
    const n = await start();
    const { token } = await n.login('alice');
    const { status, body } = await get(`/list-users?${query}`, bearer(token));
    expect(status).toBe(400);
    expect(body.error.code).toBe('invalid_query');
  });

  it('answers 401 without a session', async () => {
    await start();
    expect((await get('/list-users')).body.error.code).toBe('unauthorized');
  });
});

describe('unknown routes', () => {
  it('answer 404 not_found as JSON', async () => {
    await start();
    const { status, body } = await get('/nope/../etc');
    expect(status).toBe(404);
    expect(body.error.code).toBe('not_found');
  });
});
