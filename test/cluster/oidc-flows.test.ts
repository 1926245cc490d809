/**
 * OpenID Connect logins across nodes, against a real OpenID provider on loopback. A load balancer sends
 * each request of a login anywhere: the pending state of a flow travels with the client (a sealed
 * cookie, a sealed device handle), sealed with the secret every node shares, so a browser login started
 * on one node completes on another, and a device login started on one node is collected on another.
 * A callback replayed on a third node is still refused (the issuer's code is single-use: 401
 * `oidc_callback_failed` there, where the node that used the flow answers 400 `oidc_flow_replayed`).
 */
import { describe, expect, it } from 'vitest';
import { CALLBACK, PUBLIC_URL, codeOf, cookieOf, getJson, postJson } from '../support/auth.ts';
import { FLOW_COOKIE } from '../../src/auth/oidc.ts';
import { useClusters } from '../support/cluster.ts';
import { startIdp } from '../support/idp.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const startCluster = useClusters();

describe('OpenID Connect logins across nodes', () => {
  it('completes a browser login on another node than it started, collects a device login on another node, and refuses a callback replayed on a third', { timeout: 90_000 }, async () => {
    const idp = await startIdp({ redirectUris: [CALLBACK] });
    const clients: TestClient[] = [];
    try {
      const cluster = await startCluster({
        nodes: 3,
        ttlMs: 3000,
        env: { CHAT_OIDC_ISSUER: idp.issuer.href, CHAT_OIDC_CLIENT_ID: idp.clientId, CHAT_OIDC_CLIENT_SECRET: idp.clientSecret, CHAT_PUBLIC_URL: PUBLIC_URL },
      });
      const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)];

      // Browser: /auth/login on A; the issuer's redirect back lands on B (behind a load balancer the
      // browser sees one origin and sends the flow cookie to whichever node gets the callback).
      const start = await fetch(`${a.url}/auth/login`, { redirect: 'manual' });
      expect(start.status).toBe(302);
      const flow = cookieOf(start, FLOW_COOKIE.name)!.pair;
      const atPublic = await idp.authorize(start.headers.get('location')!, 'alice', CALLBACK);
      const callback = (node: { url: string }): string => new URL(`${atPublic.pathname}${atPublic.search}`, node.url).href;
      const done = await getJson(callback(b), { cookie: flow });
      expect(done.status).toBe(302);
      const session = cookieOf(done.response, 'session')?.pair;
      expect(session).toBeDefined();
      const users = await getJson(`${c.url}/list-users`, { cookie: session! });
      expect(users.status).toBe(200);

      // The same callback, with the same flow cookie, replayed on C. C has not seen this flow used (each
      // node remembers the flows it used), but the issuer's code is single-use: the exchange fails, no session.
      const replay = await getJson(callback(c), { cookie: flow });
      expect([replay.status, codeOf(replay)]).toEqual([401, 'oidc_callback_failed']);
      expect(cookieOf(replay.response, 'session')).toBeUndefined();

      // Device: started on A, approved at the issuer, collected on B; the session chats on C.
      const started = await postJson(`${a.url}/auth/device`, {});
      expect(started.status).toBe(200);
      const { handle, userCode } = started.body as { handle: string; userCode: string };
      await idp.approveDevice(userCode, 'bob');
      const collected = await postJson(`${b.url}/auth/device/poll`, { handle });
      expect(collected.status).toBe(200);
      expect(collected.body).toMatchObject({ status: 'ok' });
      const token = (collected.body as { token: string }).token;
      const socket = await TestClient.connect(c.wsUrl, bearer(token));
      clients.push(socket);
      const welcome = await socket.nextOfType('welcome');
      expect(welcome.user).toBe(collected.body.user);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await idp.close();
    }
  });
});
