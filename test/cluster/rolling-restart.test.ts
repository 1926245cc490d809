/**
 * A rolling restart (docs/deployment.md, "Everyday operations"): each of three nodes in turn is stopped
 * with SIGTERM (it drains: unready, sockets closed with 1001) and started again on its port, while six
 * senders post. Every client reconnects to a node that takes it and resumes with `?after=`: over all its
 * sockets each one receives every message exactly once, in order; nobody is ever shown offline; each node
 * exits 0 and is ready again with the one chat.
 */
import { describe, expect, it } from 'vitest';
import { useClusters } from '../support/cluster.ts';
import { Follower, login, sawStatus } from '../support/cluster-clients.ts';

const startCluster = useClusters();
const USERS = ['ada', 'bob', 'cy', 'dee', 'eve', 'fay'];

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms)));
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a rolling restart of every node', () => {
  it('loses nothing and shows nobody offline while each node in turn drains and comes back', { timeout: 150_000 }, async () => {
    const cluster = await startCluster({ nodes: 3, ttlMs: 1000, graceMs: 8000 });
    const nodes = [cluster.node(0), cluster.node(1), cluster.node(2)];
    const running = () => nodes.filter((node) => node.running);
    const followers: Follower[] = [];
    for (const [index, user] of USERS.entries()) {
      const node = nodes[index % 3]!;
      followers.push(await Follower.start(node, await login(node, user), running));
    }
    const observer = followers[0]!;
    const newest = (): number => Math.max(0, ...followers.map((follower) => follower.lastId ?? 0));
    /** Until `count` more messages went round (woken by the observer's frames, or every 100 ms while it reconnects; bounded). */
    const passed = async (count: number): Promise<void> => {
      const target = newest() + count;
      const deadline = Date.now() + 30_000;
      while (newest() < target) {
        if (Date.now() > deadline) throw new Error(`${count} messages did not go round in 30 s (at ${newest()}, waiting for ${target})`);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([observer.client.next((frame) => frame.type === 'receive'), new Promise((resolve) => (timer = setTimeout(resolve, 100)))]);
        clearTimeout(timer);
      }
    };

    // Each user posts every 60 ms: under the default per-user rate (20/s), so nothing is refused as rate_limited.
    let ticks = 0;
    const sending = setInterval(() => {
      ticks++;
      for (const [index, follower] of followers.entries()) follower.send({ type: 'message', text: `${index}:${ticks}` });
    }, 60);
    try {
      await passed(100);
      for (const node of nodes) {
        const stoppedAt = Date.now();
        const exit = await cluster.stop(node);
        expect(exit.code, `${node.name} drained and exited`).toBe(0);
        await cluster.start(node);
        await cluster.waitReady(node);
        console.info(`${node.name}: drained, exited 0 and ready again ${Date.now() - stoppedAt} ms after SIGTERM`);
        await within(Promise.all(followers.map((follower) => follower.reconnecting)), 20_000, `every client back after ${node.name}'s restart`);
        await passed(100);
      }
    } finally {
      clearInterval(sending);
    }
    await within(Promise.all(followers.map((follower) => follower.reconnecting)), 20_000, 'every client connected');
    observer.send({ type: 'message', text: 'the end', cid: 'end' });
    const answer = await within(observer.client.next((frame) => frame.cid === 'end'), 20_000, 'the last message or its refusal');
    expect(answer).toMatchObject({ type: 'receive', text: 'the end' });
    const end = answer.id as number;
    await Promise.all(
      followers.map((follower, index) =>
        follower.ids.includes(end) ? undefined : within(follower.client.next((frame) => frame.type === 'receive' && frame.id === end), 20_000, `${USERS[index]} to receive the last message ${end} (has ${follower.ids.length} ids, last ${follower.lastId}, ${follower.sockets.length} sockets)`),
      ),
    );

    // One sequence across the restarts: each client has every id up to the end exactly once, in order.
    const everyId = Array.from({ length: end }, (_, index) => index + 1);
    for (const follower of followers) {
      for (let i = 1; i < follower.ids.length; i++) expect(follower.ids[i]!).toBeGreaterThan(follower.ids[i - 1]!);
      expect(follower.ids).toEqual(everyId);
    }
    // Every client moved at least once (its node restarted), and nobody was ever shown offline.
    for (const follower of followers) expect(follower.sockets.length).toBeGreaterThanOrEqual(2);
    for (const follower of followers) for (const socket of follower.sockets) for (const user of USERS) expect(sawStatus(socket, user, 'offline'), user).toBe(false);
    console.info(`rolling restart with six senders: ${end} messages, ${followers.map((follower) => follower.sockets.length).join('/')} sockets per client, none lost or repeated`);
    await Promise.all(followers.map((follower) => follower.stop()));
  });
});
