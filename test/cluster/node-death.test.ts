/**
 * A node dies (kill -9) while ten senders send: the others declare it down within its liveness TTL,
 * its users go to grace (never straight to offline) and are online again once their clients
 * reconnected elsewhere; every client's ids are strictly increasing, with no duplicate and nothing
 * missing after resume. A node that never returns: its users go offline after TTL + grace.
 */
import { describe, expect, it } from 'vitest';
import { useClusters } from '../support/cluster.ts';
import { Follower, connect, everyoneShown, login, messageIds, presenceAfter, presenceOf, sawStatus } from '../support/cluster-clients.ts';

const startCluster = useClusters();

function expectWhole(ids: number[], last: number): void {
  for (let i = 1; i < ids.length; i++) expect(ids[i]!, `ids ${ids.slice(Math.max(0, i - 3), i + 2)}`).toBeGreaterThan(ids[i - 1]!);
  expect(ids).toEqual(Array.from({ length: last }, (_, i) => i + 1));
}

describe('a node killed with SIGKILL', () => {
  it('loses nothing: every client resumes elsewhere with ids strictly increasing, none missing; its users go grace → online, never offline', { timeout: 120_000 }, async () => {
    const cluster = await startCluster({ nodes: 3, ttlMs: 1000, graceMs: 8000 });
    const [a, b, c] = [cluster.node(0), cluster.node(1), cluster.node(2)];
    const running = () => [a, b, c].filter((node) => node.running);
    const observer = await connect(a, await login(a, 'observer'));
    // B's clients come back only once their user is shown in grace (a slow client's backoff: back sooner, inside one
    // presence flush window, and the observer would see no change at all); the others reconnect at once.
    const declaredDown = (): Promise<unknown> =>
      Promise.race([a, c].map((node) => node.process!.waitForLog((line) => line.msg === 'declared a node down: its heartbeat expired')));
    const onB = ['sender1', 'sender4', 'sender7'];
    // (One waiter for the three: a frame resolves one waiter of a test client.)
    let bInGrace: Promise<unknown> | undefined;
    const shownInGrace = (): Promise<unknown> => (bInGrace ??= everyoneShown(observer, onB, 'grace'));
    const senders: Follower[] = [];
    for (let i = 0; i < 10; i++) {
      const node = [a, b, c][i % 3]!;
      senders.push(await Follower.start(node, await login(node, `sender${i}`), running, node === b ? shownInGrace : undefined));
    }
    for (const user of onB) await presenceOf(observer, user, 'online');

    // Ten senders, one message each every 20 ms; node B dies once 200 messages went round, sending stops
    // once 400 more did after B's users were back.
    let ticks = 0;
    const sending = setInterval(() => {
      ticks++;
      for (const [i, sender] of senders.entries()) sender.send({ type: 'message', text: `${i}:${ticks}` });
    }, 20);
    await observer.next((frame) => frame.type === 'receive' && (frame.id as number) >= 200);
    const killedAt = Date.now();
    await cluster.kill(b);

    // The survivors declare B down once its heartbeat expired: its users go to grace, then online again elsewhere.
    await declaredDown();
    const declared = Date.now() - killedAt;
    await shownInGrace();
    await Promise.all(senders.map((sender) => sender.reconnecting));
    for (const user of onB) await presenceAfter(observer, user, 'online', 'grace');
    const back = messageIds(observer).at(-1)!;
    await observer.next((frame) => frame.type === 'receive' && (frame.id as number) >= back + 400);
    clearInterval(sending);
    // A last message marks the end: every client has everything once it has that.
    observer.send({ type: 'message', text: 'the end' });
    const end = (await observer.next((frame) => frame.type === 'receive' && frame.text === 'the end')).id as number;
    await Promise.all(senders.map((sender) => sender.client.next((frame) => frame.type === 'receive' && frame.id === end)));

    expect(end).toBeGreaterThan(600);
    expectWhole(messageIds(observer), end);
    for (const sender of senders) expectWhole(sender.ids, end);
    for (const user of onB) expect(sawStatus(observer, user, 'offline')).toBe(false);
    for (const user of onB) expect(senders[Number(user.slice(6))]!.sockets.length).toBe(2);
    console.info(`kill -9 with ten senders: ${end} messages, none lost or repeated; B declared down ${declared} ms after the kill`);
    await Promise.all(senders.map((sender) => sender.stop()));
  });

  it('that never returns takes its users offline after TTL + grace', { timeout: 60_000 }, async () => {
    const cluster = await startCluster({ nodes: 2, ttlMs: 1000, graceMs: 1500 });
    const [a, b] = [cluster.node(0), cluster.node(1)];
    const observer = await connect(a, await login(a, 'observer'));
    await connect(b, await login(b, 'lost'));
    await presenceOf(observer, 'lost', 'online');
    const killedAt = Date.now();
    await cluster.kill(b);
    await presenceOf(observer, 'lost', 'grace');
    const graceAt = Date.now();
    await presenceOf(observer, 'lost', 'offline');
    const offlineAt = Date.now();
    // Declared down after its heartbeat expired (one TTL, checked every TTL/3), then one whole grace period.
    expect(graceAt - killedAt).toBeLessThan(3 * 1000 + 1000);
    expect(offlineAt - graceAt).toBeGreaterThanOrEqual(1500 - 50);
    expect(offlineAt - graceAt).toBeLessThan(1500 + 2 * 1000 + 1000);
    console.info(`node never returns: grace ${graceAt - killedAt} ms after the kill, offline ${offlineAt - graceAt} ms later`);
  });
});
