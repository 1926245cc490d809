/**
 * On a durable journal (`CHAT_JOURNAL=file:`), what OIDC login and logout recorded survives a restart of
 * the node: the name stays bound to its identity (another account still gets name_taken) and a session
 * logged out with POST /auth/logout stays revoked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { browserLogin, codeOf, getJson, postJson, PUBLIC_URL, startAuthNode, type AuthSetup } from '../support/auth.ts';
import { startTestNode, type TestNode } from '../support/node.ts';

let setup: AuthSetup | undefined;
let second: TestNode | undefined;
let dir: string | undefined;

afterEach(async () => {
  await second?.close();
  await setup?.idp.close(); // its node was stopped by the test (a node is stopped once)
  if (dir) rmSync(dir, { recursive: true, force: true });
  setup = undefined;
  second = undefined;
  dir = undefined;
});

describe('OIDC facts across a restart (file journal)', () => {
  it('keeps the name bound and the logged-out session revoked', async () => {
    dir = mkdtempSync(join(tmpdir(), 'actor-chat-auth-journal-'));
    const accounts = [
      { login: 'alice', claims: { email: 'shared@example.com', email_verified: true } },
      { login: 'impostor', claims: { email: 'shared@example.com', email_verified: true } },
    ];
    const env = { CHAT_JOURNAL: `file:${join(dir, 'events.log')}`, CHAT_JOURNAL_FSYNC: 'always', CHAT_SESSION_SECRET: 'restart-test-secret-0123456789abcdefgh' };
    setup = await startAuthNode({ idp: { accounts }, env });
    const { idp } = setup;
    const { cookie } = await browserLogin(setup.t, idp, 'alice');
    expect((await postJson(`${setup.t.url}/auth/logout`, undefined, { cookie: cookie! })).status).toBe(200);
    await setup.t.close();

    second = await startTestNode(
      {
        ...env,
        CHAT_OIDC_ISSUER: idp.issuer.href,
        CHAT_OIDC_CLIENT_ID: idp.clientId,
        CHAT_OIDC_CLIENT_SECRET: idp.clientSecret,
        CHAT_PUBLIC_URL: PUBLIC_URL,
      },
    );
    expect(second.node.runtime.state.identities.get('shared@example.com')?.subject).toBe('alice');
    const revoked = await getJson(`${second.url}/list-users`, { cookie: cookie! });
    expect([revoked.status, codeOf(revoked)]).toEqual([401, 'session_revoked']);
    const taken = await browserLogin(second, idp, 'impostor');
    expect(taken.done.status).toBe(409);
    expect(await taken.done.json()).toMatchObject({ error: { code: 'name_taken' } });
  });
});
