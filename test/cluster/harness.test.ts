/**
 * The cluster harness itself (test/support/cluster.ts): three real nodes on one real redis-server
 * become ready; a node killed with SIGKILL stops answering while the others stay ready; it starts
 * again on its own port; SIGTERM drains a node and it exits 0; a session issued by one node opens a
 * socket on another (one shared CHAT_SESSION_SECRET).
 */
import { describe, expect, it } from 'vitest';
import { useClusters } from '../support/cluster.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const startCluster = useClusters();

describe('the cluster harness', () => {
  it('starts three ready nodes on one Redis, kills, restarts and stops them', { timeout: 60_000 }, async () => {
    const cluster = await startCluster({ nodes: 3 });
    const [first, second, third] = [cluster.node(0), cluster.node(1), cluster.node(2)];
    expect(cluster.nodes.map((node) => node.name)).toEqual(['node1', 'node2', 'node3']);
    expect(new Set(cluster.nodes.map((node) => node.port)).size).toBe(3);
    for (const node of cluster.nodes) expect(await cluster.readyz(node)).toBe(200);
    expect(first.process!.logs.some((line) => String(line.msg).startsWith('actor-chat listening'))).toBe(true);

    const login = await fetch(`${first.url}/login/alice`);
    const { token } = (await login.json()) as { token: string };
    const elsewhere = await TestClient.connect(second.wsUrl, bearer(token));
    expect((await elsewhere.nextOfType('welcome')).user).toBe('alice');

    const killed = await cluster.kill(second);
    expect(killed.signal).toBe('SIGKILL');
    expect((await elsewhere.waitClosed()).code).toBe(1006);
    expect(await cluster.readyz(second)).toBe(0);
    expect(await cluster.readyz(first)).toBe(200);
    expect(await cluster.readyz(third)).toBe(200);

    await cluster.start(second);
    await cluster.waitReady(second);
    expect(second.url).toBe(`http://127.0.0.1:${second.port}`);

    const stopped = await cluster.stop(third);
    expect(stopped.code).toBe(0);
    expect(third.running).toBe(false);
  });
});
