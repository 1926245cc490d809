/**
 * One chat across three real nodes on one real redis-server (CHAT_ENGINE): every rule of the single
 * node kept whichever node each client reaches — sessions from any node, one presence list (also in
 * `watch` mode), one message sequence in one order, direct messages refused for users offline
 * everywhere, resume on any node, logout everywhere at once, a user with sockets on two nodes online
 * until the last closes.
 */
import { describe, expect, it } from 'vitest';
import { useClusters } from '../support/cluster.ts';
import { connect, listUsers, login, messageIds, presenceAfter, presenceOf, sawStatus } from '../support/cluster-clients.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const startCluster = useClusters();

describe('one chat across three nodes', () => {
  it('keeps one presence list, one message order, direct-message refusals and resume on every node', { timeout: 90_000 }, async () => {
    const cluster = await startCluster({ nodes: 3, ttlMs: 3000, graceMs: 1500 });
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)];
    // Sessions cross nodes: each user logs in on one node and connects to the next.
    const alice = await login(a, 'alice');
    const bob = await login(b, 'bob');
    const carol = await login(c, 'carol');
    const onB = await connect(b, alice);
    const onC = await connect(c, bob);
    const onA = await connect(a, carol);
    // The welcome lists the user itself: it is sent after the socket's own attachment came back from the log.
    expect((onB.frames[0]!.users as Array<{ name: string }>).map((u) => u.name)).toContain('alice');
    for (const client of [onB, onC, onA]) {
      for (const user of ['alice', 'bob', 'carol']) await presenceOf(client, user, 'online');
    }
    const lists = await Promise.all([a, b, c].map((node) => listUsers(node, alice)));
    for (const list of lists) expect(list).toEqual(lists[0]);
    expect((lists[0] as { body: { total: number } }).body.total).toBe(3);

    // One sequence, one order, on every node, whoever posts where.
    const senders = [onB, onC, onA];
    for (let round = 0; round < 10; round++) for (const sender of senders) sender.send({ type: 'message', text: `r${round}` });
    await Promise.all(senders.map((client) => client.next((frame) => frame.type === 'receive' && frame.id === 30)));
    const ids = messageIds(onB);
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(messageIds(onC)).toEqual(ids);
    expect(messageIds(onA)).toEqual(ids);
    const texts = (client: TestClient) => client.ofType('receive').map((frame) => `${frame.id}:${frame.from}:${frame.text}`);
    expect(texts(onC)).toEqual(texts(onB));

    // A direct message: to its two ends only; to a user listed nowhere: user_offline, decided by the log.
    onA.send({ type: 'direct', to: 'alice', text: 'psst', cid: 'd1' });
    const direct = await onB.nextOfType('direct');
    expect(direct).toMatchObject({ id: 31, from: 'carol', to: 'alice', text: 'psst' });
    onA.send({ type: 'direct', to: 'dave', text: 'anyone?', cid: 'd2' });
    expect(await onA.nextOfType('error')).toMatchObject({ code: 'user_offline', cid: 'd2' });
    await onC.sync();
    expect(onC.ofType('direct')).toEqual([]);

    // Resume on another node: bob leaves C at 31 (shown in grace, not offline), misses 32..34, comes back on A and gets exactly those.
    await onC.close();
    await presenceOf(onA, 'bob', 'grace');
    for (let i = 0; i < 3; i++) onB.send({ type: 'message', text: `missed ${i}` });
    await onB.next((frame) => frame.type === 'receive' && frame.id === 34);
    const back = await TestClient.connect(`${a.wsUrl}?after=31`, bearer(bob));
    await back.next((frame) => frame.type === 'receive' && frame.id === 34);
    expect(messageIds(back)).toEqual([32, 33, 34]);
    await presenceAfter(onA, 'bob', 'online', 'grace');
    expect(sawStatus(onA, 'bob', 'offline')).toBe(false);
    await back.close();
  });

  it('keeps a user online while a socket is open on any node, and a logout anywhere ends it everywhere (4001)', { timeout: 60_000 }, async () => {
    const cluster = await startCluster({ nodes: 3, ttlMs: 3000, graceMs: 1000 });
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)];
    const alice = await login(a, 'alice');
    const watcher = await connect(c, await login(c, 'watcher'));
    const first = await connect(a, alice);
    const second = await connect(b, alice);
    await presenceOf(watcher, 'alice', 'online');
    await first.close();
    // Still attached on B: no grace shown anywhere.
    second.send({ type: 'message', text: 'still here' });
    await watcher.next((frame) => frame.type === 'receive' && frame.text === 'still here');
    await watcher.sync();
    expect(sawStatus(watcher, 'alice', 'grace')).toBe(false);
    expect(sawStatus(watcher, 'alice', 'offline')).toBe(false);

    // Logout on C (a third node): alice's sockets close with 4001 everywhere, her session is refused everywhere.
    const third = await connect(c, alice);
    const logout = await fetch(`${c.url}/logout/alice`, { headers: bearer(alice) });
    expect(logout.status).toBe(200);
    expect((await second.waitClosed()).code).toBe(4001);
    expect((await third.waitClosed()).code).toBe(4001);
    for (const node of [a, b, c]) {
      const refused = (await listUsers(node, alice)) as { status: number; body: { error: { code: string } } };
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('session_revoked');
    }
    await presenceOf(watcher, 'alice', 'offline');
    // A direct message to her now: offline everywhere.
    watcher.send({ type: 'direct', to: 'alice', text: 'gone?', cid: 'x' });
    expect(await watcher.nextOfType('error')).toMatchObject({ code: 'user_offline', cid: 'x' });
  });

  it('in watch mode, a socket follows the users it watches wherever they connect, and hears nothing of the others', { timeout: 60_000 }, async () => {
    const cluster = await startCluster({ nodes: 3, ttlMs: 3000, graceMs: 1000, env: { CHAT_PRESENCE: 'watch' } });
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)];
    const watcher = await connect(a, await login(a, 'watcher'));
    watcher.send({ type: 'watch', users: ['bob', 'carol'] });
    // Answered at once with their current status, decided from the one presence list.
    const answer = await watcher.nextOfType('presence');
    expect(answer.changes).toEqual(expect.arrayContaining([{ user: 'bob', status: 'offline' }, { user: 'carol', status: 'offline' }]));

    const bob = await login(b, 'bob');
    const bobOnB = await connect(b, bob);
    const carolOnC = await connect(c, await login(c, 'carol'));
    const daveOnC = await connect(c, await login(c, 'dave'));
    await presenceOf(watcher, 'bob', 'online');
    await presenceOf(watcher, 'carol', 'online');

    // Carol is unwatched, then leaves; bob leaves after her and comes back on C: bob's changes, folded after
    // carol's on every node, are the barrier — once the watcher has them, it would have had carol's.
    watcher.send({ type: 'unwatch', users: ['carol'] });
    await watcher.sync();
    await carolOnC.close();
    await bobOnB.close();
    await presenceOf(watcher, 'bob', 'grace');
    const bobOnC = await connect(c, bob);
    await presenceAfter(watcher, 'bob', 'online', 'grace');
    expect(sawStatus(watcher, 'carol', 'grace')).toBe(false);
    expect(watcher.ofType('presence').flatMap((frame) => frame.changes as Array<{ user: string }>).some((change) => change.user === 'dave')).toBe(false);

    // A watched user whose last socket closes goes grace → offline for the watcher, as on one node.
    await bobOnC.close();
    await presenceOf(watcher, 'bob', 'offline');
    await daveOnC.close();
  });
});
