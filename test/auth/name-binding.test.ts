/**
 * OIDC names against a real OpenID provider on loopback: an e-mail is the name only when verified;
 * names are one name whatever their case when binding; and binding a name to an identity revokes the
 * dev sessions already started under it (refused from the journaled binding on, sockets closed with 4002).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { browserLogin, codeOf, getJson, startAuthNode, type AuthSetup } from '../support/auth.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

let setup: AuthSetup | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await setup?.close();
  setup = undefined;
});

const sidOf = (token: string): string => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

describe('OIDC names', () => {
  it('take the e-mail only when email_verified is true', async () => {
    const accounts = [
      { login: 'eve', claims: { email: 'bob@example.com', preferred_username: 'eve' } }, // no email_verified at all
      { login: 'bob', claims: { email: 'bob@example.com', email_verified: true } },
    ];
    setup = await startAuthNode({ idp: { accounts } });
    const { t, idp } = setup;
    const eve = await browserLogin(t, idp, 'eve');
    expect((await getJson(`${t.url}/list-users`, { cookie: eve.cookie! })).status).toBe(200);
    expect(t.node.runtime.state.identities.has('eve')).toBe(true);
    expect(t.node.runtime.state.identities.has('bob@example.com')).toBe(false);
    expect((await browserLogin(t, idp, 'bob')).done.status).toBe(302);
  });

  it('are bound case-insensitively: another identity and dev login are refused a differently-cased bound name', async () => {
    const accounts = [
      { login: 'alice', claims: { email: 'alice@example.com', email_verified: true } },
      { login: 'mallory', claims: { email: 'Alice@Example.com', email_verified: true } },
    ];
    setup = await startAuthNode({ idp: { accounts }, env: { CHAT_DEV_LOGIN: 'true' } });
    const { t, idp } = setup;
    expect((await browserLogin(t, idp, 'alice')).done.status).toBe(302);
    const taken = await browserLogin(t, idp, 'mallory');
    expect(taken.done.status).toBe(409);
    expect(await taken.done.json()).toMatchObject({ error: { code: 'name_taken' } });
    const squat = await getJson(`${t.url}/login/${encodeURIComponent('ALICE@example.com')}`);
    expect([squat.status, codeOf(squat)]).toEqual([409, 'name_taken']);
  });
});

describe('binding a name to an identity', () => {
  it('revokes the dev sessions of that name, any case: journaled as revoked, sockets closed with 4002, tokens refused', async () => {
    setup = await startAuthNode({ env: { CHAT_DEV_LOGIN: 'true' } });
    const { t, idp } = setup;
    const squatters = await Promise.all(['alice@example.com', 'Alice@example.com'].map((name) => t.login(name)));
    const sockets = await Promise.all(squatters.map((session) => TestClient.connect(t.wsUrl, bearer(session.token))));
    clients.push(...sockets);
    await Promise.all(sockets.map((socket) => socket.nextOfType('welcome')));
    const bystander = await t.login('carol');

    const owner = await browserLogin(t, idp, 'alice');
    expect(owner.done.status).toBe(302);

    for (const socket of sockets) expect((await socket.waitClosed()).code).toBe(4002);
    // No table of sessions to walk: the binding itself (journaled, with its time) refuses the sessions of the name
    // issued before it that do not carry the identity.
    expect(t.node.runtime.state.identities.get('alice@example.com')).toMatchObject({ subject: expect.any(String), at: expect.any(Number) });
    for (const session of squatters) {
      expect(t.node.runtime.state.revoked.has(sidOf(session.token))).toBe(false);
      const refused = await getJson(`${t.url}/list-users`, bearer(session.token));
      expect([refused.status, codeOf(refused)]).toEqual([401, 'session_revoked']);
    }
    expect((await getJson(`${t.url}/list-users`, bearer(bystander.token))).status).toBe(200);
    const mine = await TestClient.connect(t.wsUrl, { cookie: owner.cookie!, origin: t.url });
    clients.push(mine);
    expect((await mine.nextOfType('welcome')).user).toBe('alice@example.com');
  });
});
