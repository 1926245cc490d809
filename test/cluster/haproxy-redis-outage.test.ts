/**
 * Redis stopped under three nodes behind HAProxy (deploy/haproxy.cfg): every node answers `/readyz`
 * 503, HAProxy takes them all out and answers 503 itself, the nodes close their sockets with 1012
 * after one TTL; once Redis is back every node is UP again, the clients resume through HAProxy with
 * `?after=` and ids continue, nothing lost or repeated.
 */
import { describe, expect, it } from 'vitest';
import { post, receivedIds, useChatThroughHaproxy, type Online } from '../support/chat-through-haproxy.ts';

const { start, login, connect } = useChatThroughHaproxy();
const USERS = ['ada', 'bob', 'cy'];

describe('Redis down under nodes behind HAProxy', () => {
  it('answers 503 while Redis is down (every node unready, out of rotation), and serves and resumes again once it is back', { timeout: 90_000 }, async () => {
    const { cluster, lb } = await start();
    const online: Online[] = [];
    for (const user of USERS) online.push(await connect(user, await login(user)));
    const before = await post(online[0]!, online, 5, 'before');

    const stoppedAt = Date.now();
    const mark = lb.lines.length;
    await cluster.redis.stop();
    // Every node turns unready, HAProxy takes each out on its 503, then answers 503 itself.
    const down = await Promise.all(['node1', 'node2', 'node3'].map((server) => lb.serverDown(server, mark)));
    const downAfter = Date.now() - stoppedAt;
    for (const line of down) expect(line).toContain('code: 503');
    expect((await fetch(`${lb.url}/login/late`)).status).toBe(503);
    // After one TTL without Redis each node closes its sockets with 1012 (service restart: come back later).
    for (const { client } of online) expect((await client.waitClosed()).code).toBe(1012);

    await cluster.redis.restart();
    await Promise.all(['node1', 'node2', 'node3'].map((server) => lb.serverUp(server, mark)));
    const upAfter = Date.now() - stoppedAt;
    const resumed: Online[] = [];
    for (const entry of online) resumed.push(await connect(entry.user, entry.token, Math.max(...receivedIds(entry.client))));
    const after = await post(resumed[0]!, resumed, 5, 'after');
    expect(after).toBeGreaterThan(before);
    online.forEach((entry, index) => {
      const seen = [...receivedIds(entry.client), ...receivedIds(resumed[index]!.client)];
      expect(seen).toEqual([...receivedIds(online[0]!.client), ...receivedIds(resumed[0]!.client)]);
      expect(seen.every((id, position) => position === 0 || id > seen[position - 1]!)).toBe(true);
    });
    console.log(`Redis stopped: all three nodes DOWN in HAProxy after ${downAfter} ms; Redis restarted: all UP after ${upAfter} ms; ids ${before} before, ${after} after`);
  });
});
