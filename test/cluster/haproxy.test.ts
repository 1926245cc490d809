/**
 * `deploy/haproxy.cfg`, run verbatim by Debian's HAProxy (test/support/haproxy.ts) in front of three
 * real nodes on one real Redis (test/support/cluster.ts): round robin with no stickiness; the `/readyz`
 * health check takes a killed node out and puts it back once it is restarted, and requests meanwhile
 * reach only the others; the nodes' per-IP limits see each client's own address (`option forwardfor`
 * with `CHAT_TRUST_PROXY` naming HAProxy), and a client cannot choose it. HAProxy's log names the node
 * each request went to. The chat across nodes through this file: test/cluster/haproxy-chat.test.ts.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { useClusters, type Cluster } from '../support/cluster.ts';
import { Haproxy } from '../support/haproxy.ts';

const startCluster = useClusters();
let lb: Haproxy | undefined;
afterEach(async () => {
  await lb?.close();
  lb = undefined;
});

async function start(env: Record<string, string> = {}): Promise<{ cluster: Cluster; lb: Haproxy }> {
  const cluster = await startCluster({ nodes: 3, ttlMs: 1000, env: { CHAT_TRUST_PROXY: '127.0.0.1', ...env } });
  lb = await Haproxy.start(cluster.nodes.map((node) => `127.0.0.1:${node.port}`));
  return { cluster, lb };
}

interface Answer {
  status: number;
  /** The server HAProxy sent the request to, from its log. */
  server: string;
}

/** `GET /login/<user>` through HAProxy from `localAddress` on a connection of its own, and where it went. */
async function loginFrom(localAddress: string, user: string, headers: Record<string, string> = {}): Promise<Answer> {
  const { status, port } = await new Promise<{ status: number; port: number }>((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port: lb!.port, path: `/login/${user}`, localAddress, headers, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, port: response.socket.localPort ?? 0 }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
  const routed = await lb!.request((entry) => entry.clientPort === port && entry.path === `/login/${user}`);
  return { status, server: routed.server };
}

async function logins(count: number, prefix: string): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (let i = 0; i < count; i++) answers.push(await loginFrom('127.0.0.1', `${prefix}${i}`));
  return answers;
}

describe('deploy/haproxy.cfg in front of three nodes', () => {
  it('balances round robin; the /readyz check takes a killed node out and back in once restarted', { timeout: 90_000 }, async () => {
    const { cluster } = await start();
    const spread = await logins(6, 'spread');
    expect(spread.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    for (const name of ['node1', 'node2', 'node3']) expect(spread.filter((answer) => answer.server === name)).toHaveLength(2);

    const victim = cluster.node(1);
    const killedAt = Date.now();
    const mark = lb!.lines.length;
    await cluster.kill(victim);
    const down = await lb!.serverDown(victim.name, mark);
    const downAfter = Date.now() - killedAt;
    expect(down).toContain('Connection refused');
    const meanwhile = await logins(6, 'meanwhile');
    expect(meanwhile.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(meanwhile.some((answer) => answer.server === victim.name)).toBe(false);

    const restartedAt = Date.now();
    await cluster.start(victim);
    await lb!.serverUp(victim.name, mark);
    const upAfter = Date.now() - restartedAt;
    const again = await logins(3, 'again');
    expect(again.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(new Set(again.map((answer) => answer.server))).toEqual(new Set(['node1', 'node2', 'node3']));
    console.log(`${victim.name} killed: HAProxy marked it DOWN after ${downAfter} ms; restarted: UP after ${upAfter} ms (process start included)`);
  });

  it('lets the nodes limit each client by its own address, which the client cannot choose', { timeout: 60_000 }, async () => {
    await start({ CHAT_LOGIN_RATE_PER_MIN: '1', CHAT_LOGIN_BURST: '1' });
    // One login per address per node: round robin sends the first three to three different nodes.
    const first = [await loginFrom('127.0.0.2', 'u1'), await loginFrom('127.0.0.2', 'u2'), await loginFrom('127.0.0.2', 'u3')];
    expect(first.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(new Set(first.map((answer) => answer.server)).size).toBe(3);
    // Every node has now spent 127.0.0.2's budget.
    const refused = [await loginFrom('127.0.0.2', 'v1'), await loginFrom('127.0.0.2', 'v2'), await loginFrom('127.0.0.2', 'v3')];
    expect(refused.map((answer) => answer.status)).toEqual([429, 429, 429]);
    expect(new Set(refused.map((answer) => answer.server)).size).toBe(3);
    // Another address has its own budget on every node, even when it claims to be the first one.
    expect((await loginFrom('127.0.0.3', 'other', { 'x-forwarded-for': '127.0.0.2' })).status).toBe(200);
  });
});
