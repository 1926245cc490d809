/**
 * Identity bindings across nodes, against a real OpenID provider on loopback: two identities claiming
 * one name log in at the same moment on two nodes — exactly one gets it, the other `name_taken` (the
 * append script decides, atomically); afterwards every node refuses the name to the other identity and
 * to a dev login of any case, and closes (4002) a dev session of that name opened elsewhere before.
 */
import { describe, expect, it } from 'vitest';
import { CALLBACK, PUBLIC_URL, browserLogin, codeOf, getJson } from '../support/auth.ts';
import { useClusters, type ClusterNode } from '../support/cluster.ts';
import { startIdp, type Idp } from '../support/idp.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const startCluster = useClusters();

/** A browser login through one node (the helper needs only the node's address). */
const loginVia = (node: ClusterNode, idp: Idp, account: string) => browserLogin(node, idp, account);

describe('a name bound to an OIDC identity, across nodes', () => {
  it('goes to exactly one of two identities logging in at once on two nodes, and is refused to the other everywhere', { timeout: 90_000 }, async () => {
    const accounts = [
      { login: 'alice', claims: { email: 'alice@example.com', email_verified: true } },
      { login: 'mallory', claims: { email: 'Alice@Example.com', email_verified: true } },
    ];
    const idp = await startIdp({ redirectUris: [CALLBACK], accounts });
    try {
      const cluster = await startCluster({
        nodes: 3,
        ttlMs: 3000,
        env: {
          CHAT_OIDC_ISSUER: idp.issuer.href,
          CHAT_OIDC_CLIENT_ID: idp.clientId,
          CHAT_OIDC_CLIENT_SECRET: idp.clientSecret,
          CHAT_PUBLIC_URL: PUBLIC_URL,
          CHAT_DEV_LOGIN: 'true',
        },
      });
      const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)];
      // A dev session of the name, opened on C before anyone binds it.
      const squat = (await getJson(`${c.url}/login/${encodeURIComponent('alice@example.com')}`)).body as { token: string };
      const squatter = await TestClient.connect(c.wsUrl, bearer(squat.token));
      await squatter.nextOfType('welcome');

      const [first, second] = await Promise.all([loginVia(a, idp, 'alice'), loginVia(b, idp, 'mallory')]);
      const statuses = [first.done.status, second.done.status].sort();
      expect(statuses).toEqual([302, 409]);
      const loser = first.done.status === 409 ? first : second;
      expect(await loser.done.json()).toMatchObject({ error: { code: 'name_taken' } });
      const winner = first.done.status === 302 ? 'alice' : 'mallory';
      const other = winner === 'alice' ? 'mallory' : 'alice';

      // Every node now refuses the name to the other identity and to dev logins of any case.
      for (const node of [a, b, c]) {
        const again = await loginVia(node, idp, other);
        expect([again.done.status, ((await again.done.json()) as { error: { code: string } }).error.code]).toEqual([409, 'name_taken']);
        const dev = await getJson(`${node.url}/login/${encodeURIComponent('ALICE@example.com')}`);
        expect([dev.status, codeOf(dev)]).toEqual([409, 'name_taken']);
      }
      // The dev session opened before the binding: closed 4002 on its node, refused on every node.
      expect((await squatter.waitClosed()).code).toBe(4002);
      for (const node of [a, b, c]) {
        const refused = await getJson(`${node.url}/list-users`, bearer(squat.token));
        expect([refused.status, codeOf(refused)]).toEqual([401, 'session_revoked']);
      }
    } finally {
      await idp.close();
    }
  });
});
