/**
 * Engine trouble with real processes (issue 15, point 4): Redis killed (SIGKILL) or stopped (SIGTERM) and
 * restarted — every node unready, upgrades 503 `unavailable`, posts refused `unavailable` and never queued,
 * then ready again with ids above every id seen and nobody shown offline; Redis restarted from an older AOF
 * copy — the rollback fenced by one node, no id reused, a resume into the lost range told `history-gap` on a
 * node that had read that range and on one started after; one node's Redis link paused past the TTL through a
 * TCP proxy — that node unready, its sockets closed 1012, declared down by the others, its users grace → online
 * elsewhere, and ready again (only the differences re-synced) on resume.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useClusters, type Cluster, type ClusterNode } from '../support/cluster.ts';
import { Follower, connect, everyoneShown, listUsers, login, messageIds, presenceAfter, presenceOf, sawStatus } from '../support/cluster-clients.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { TestClient, bearer, type Frame } from '../support/ws-client.ts';

const startCluster = useClusters();

/** Two nodes on Redis and a third, C, whose link to Redis goes through a pausable TCP proxy; an observer on A. */
async function withProxiedNode(ttlMs: number, graceMs: number) {
  const cluster = await startCluster({ nodes: 2, ttlMs, graceMs });
  const [a, b] = [cluster.node(0), cluster.node(1)];
  const proxy = await TcpProxy.start(cluster.redis.port);
  try {
    const c = await cluster.add({ CHAT_ENGINE: `redis://127.0.0.1:${proxy.port}` });
    await cluster.waitReady(c);
    const observer = await connect(a, await login(a, 'observer'));
    return { cluster, a, b, c, proxy, observer };
  } catch (error) {
    await proxy.close();
    throw error;
  }
}
const USERS = ['alice', 'bob', 'carol'];
const FENCED = 'the log rolled back: fenced, ids continue above every id this node saw';
const DECLARED_DOWN = 'declared a node down: its heartbeat expired';
const POLL_MS = 100;

type UserList = { status: number; body: { users: Array<{ name: string; status: string }> } };

/** alice, bob and carol, each logged in on one node and connected to the next; each sees all three online. */
async function threeUsers(nodes: ClusterNode[]): Promise<{ tokens: string[]; clients: TestClient[] }> {
  const tokens = await Promise.all(USERS.map((user, i) => login(nodes[i % nodes.length]!, user)));
  const clients: TestClient[] = [];
  for (const [i, token] of tokens.entries()) clients.push(await connect(nodes[(i + 1) % nodes.length]!, token));
  for (const client of clients) for (const user of USERS) await presenceOf(client, user, 'online');
  return { tokens, clients };
}

/** `sender` posts `text`; resolves with its id once every client has it. */
async function post(sender: TestClient, clients: TestClient[], text: string): Promise<number> {
  sender.send({ type: 'message', text });
  const frames = await Promise.all(clients.map((client) => client.next((frame) => frame.type === 'receive' && frame.text === text)));
  const ids = frames.map((frame) => frame.id as number);
  expect(new Set(ids).size).toBe(1);
  return ids[0]!;
}

/** The first frame `match` accepts, already received or still to come (regardless of what earlier waits consumed). */
function seen(client: TestClient, match: (frame: Frame) => boolean): Promise<Frame> {
  const frame = client.frames.find(match);
  return frame ? Promise.resolve(frame) : client.next(match);
}

/** The highest message id any client received. */
function maxSeen(clients: TestClient[]): number {
  return Math.max(0, ...clients.flatMap((client) => messageIds(client)));
}

/** An upgrade on `node` refused with 503 `unavailable`. */
async function expectUpgradeRefused(node: ClusterNode, token: string): Promise<void> {
  const refused = (await TestClient.connect(node.wsUrl, bearer(token)).then(
    async (client) => {
      await client.close();
      throw new Error(`${node.name} opened a socket while it could not reach Redis`);
    },
    (error: unknown) => error,
  )) as { status: number; body: string };
  expect(refused.status).toBe(503);
  expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'unavailable' } });
}

/** Asks every node's `/list-users` every 100 ms until `until`, each answer showing every user online (a bounded poll of real requests). */
async function everyoneOnlineUntil(nodes: ClusterNode[], token: string, until: number): Promise<number> {
  let polls = 0;
  for (; Date.now() < until && polls < 300; polls++) {
    for (const node of nodes) {
      const list = (await listUsers(node, token)) as UserList;
      expect(list.status).toBe(200);
      for (const user of USERS) expect(list.body.users, `${node.name} at poll ${polls}`).toContainEqual({ name: user, status: 'online' });
    }
    await delay(POLL_MS);
  }
  expect(Date.now()).toBeGreaterThanOrEqual(until);
  return polls;
}

async function expectSamePresence(nodes: ClusterNode[], token: string): Promise<void> {
  const lists = await Promise.all(nodes.map((node) => listUsers(node, token)));
  for (const list of lists) expect(list).toEqual(lists[0]);
}

function linesOf(nodes: ClusterNode[], msg: string): Array<Record<string, unknown>> {
  return nodes.flatMap((node) => node.logs.filter((line) => line.msg === msg));
}

describe('Redis down and back', () => {
  it.each([
    ['SIGKILL', (cluster: Cluster) => cluster.redis.kill()],
    ['SIGTERM', (cluster: Cluster) => cluster.redis.stop()],
  ])('after %s: every node unready, upgrades 503 and posts refused unavailable (not queued); back: ids above all seen, nobody offline', { timeout: 90_000 }, async (signal, takeDown) => {
    const cluster = await startCluster({ nodes: 3, ttlMs: 3000, graceMs: 3000 });
    const nodes = cluster.nodes;
    const { tokens, clients } = await threeUsers(nodes);
    for (const [i, client] of clients.entries()) await post(client, clients, `before ${i}`);
    const seenBefore = maxSeen(clients);

    const downAt = Date.now();
    await takeDown(cluster);
    await Promise.all(nodes.map((node) => cluster.waitUnready(node, 5000)));
    const unreadyAfter = Date.now() - downAt;
    for (const node of nodes) await expectUpgradeRefused(node, tokens[0]!);
    clients[0]!.send({ type: 'message', text: 'lost in the outage', cid: 'outage' });
    expect(await clients[0]!.next((frame) => frame.type === 'error' && frame.cid === 'outage')).toMatchObject({ code: 'unavailable' });
    await cluster.redis.restart();
    const outage = Date.now() - downAt;
    await cluster.waitAllReady(15_000);
    const backAt = Date.now();

    // Shorter than one TTL: nobody closed, and after the 2 × TTL a node waits before declaring others down, nobody was.
    const polls = await everyoneOnlineUntil(nodes, tokens[0]!, backAt + 3 * cluster.ttlMs);
    for (const client of clients) expect(client.closed).toBeUndefined();
    const next = await post(clients[1]!, clients, 'after the outage');
    expect(next).toBeGreaterThan(seenBefore);
    for (const client of clients) {
      await client.sync();
      expect(client.ofType('receive').map((frame) => frame.text)).not.toContain('lost in the outage');
      for (const user of USERS) {
        expect(sawStatus(client, user, 'grace')).toBe(false);
        expect(sawStatus(client, user, 'offline')).toBe(false);
      }
    }
    expect(linesOf(nodes, DECLARED_DOWN)).toEqual([]);
    await expectSamePresence(nodes, tokens[0]!);
    console.info(`Redis ${signal}: every node unready ${unreadyAfter} ms after it, outage ${outage} ms, ready again ${backAt - downAt} ms after it; ` +
      `ids up to ${seenBefore} before, ${next} next; ${polls} polls of /list-users on 3 nodes over 3 TTL: all online`);
  });
});

describe('Redis restarted from an older AOF (a rollback)', () => {
  it('is fenced by one node: ids continue above every id any client saw, none reused; a resume into the lost range gets history-gap', { timeout: 90_000 }, async () => {
    const cluster = await startCluster({ nodes: 3, ttlMs: 3000, graceMs: 3000 });
    const nodes = cluster.nodes;
    const { tokens, clients } = await threeUsers(nodes);
    for (let i = 0; i < 5; i++) await post(clients[i % 3]!, clients, `kept ${i}`);
    const kept = maxSeen(clients);
    const copy = await cluster.redis.copyData();
    for (let i = 0; i < 5; i++) await post(clients[i % 3]!, clients, `lost ${i}`);
    const seen = maxSeen(clients);

    await cluster.redis.restoreFrom(copy);
    await cluster.waitAllReady(15_000);
    // Fenced before ready (it is a step of every reconnect), by the first node back; the others find the fence above them.
    const fences = linesOf(nodes, FENCED);
    expect(fences).toHaveLength(1);
    const fence = String(fences[0]!.fence);
    expect(Number(fence.split('-')[0])).toBeGreaterThan(seen);

    const next = await post(clients[0]!, clients, 'after the rollback');
    expect(next).toBeGreaterThan(seen);
    for (const client of clients) expect(new Set(messageIds(client)).size).toBe(messageIds(client).length);
    await expectSamePresence(nodes, tokens[0]!);

    // A client that had read up to inside the lost range resumes, on a node that read that range and on a node started after.
    const fresh = await cluster.add();
    await cluster.waitReady(fresh);
    const gaps: string[] = [];
    for (const node of [nodes[0]!, fresh]) {
      const resumed = await TestClient.connect(`${node.wsUrl}?after=${kept + 2}`, bearer(tokens[0]!));
      await resumed.next((frame) => frame.type === 'receive' && frame.id === next);
      expect(resumed.ofType('history-gap'), `on ${node.name}`).toEqual([expect.objectContaining({ after: kept + 2 })]);
      gaps.push(`${node.name} ${JSON.stringify(resumed.ofType('history-gap')[0])}`);
      // Nothing from the lost range: the log no longer has it, and every node answers the same.
      expect(messageIds(resumed), `on ${node.name}`).toEqual([next]);
      await resumed.close();
    }
    console.info(`rollback: ids 1…${kept} kept, ${kept + 1}…${seen} lost; fence ${fence}, next message ${next}; resume after=${kept + 2}: ${gaps.join(', ')}`);
  });
});

describe("one node's Redis link paused past the TTL", () => {
  it('turns that node unready, closes its sockets 1012, lets the others declare it down (grace → online elsewhere), and re-syncs it on resume', { timeout: 90_000 }, async () => {
    const { cluster, a, b, c, proxy, observer } = await withProxiedNode(1000, 8000);
    try {
      // alice's client comes back only once she is shown in grace (a slow client's backoff: sooner, and the
      // grace would fall inside one presence flush window and never be shown).
      let inGrace: Promise<unknown> | undefined;
      const shownInGrace = (): Promise<unknown> => (inGrace ??= presenceOf(observer, 'alice', 'grace'));
      const alice = await Follower.start(c, await login(c, 'alice'), () => [a, b], shownInGrace);
      await presenceOf(observer, 'alice', 'online');
      const first = await post(observer, [observer, alice.client], 'before the pause');

      const pausedAt = Date.now();
      proxy.pause();
      await cluster.waitUnready(c, 5000);
      const unready = Date.now() - pausedAt;
      const declared = Promise.race([a, b].map((node) => node.process!.waitForLog((line) => line.msg === DECLARED_DOWN))).then(() => Date.now() - pausedAt);
      expect((await alice.sockets[0]!.waitClosed()).code).toBe(1012);
      const closed = Date.now() - pausedAt;
      observer.send({ type: 'message', text: 'while alice moves' });
      const declaredAfter = await declared;
      await shownInGrace();
      await alice.reconnecting;
      await presenceAfter(observer, 'alice', 'online', 'grace');
      const moved = (await seen(observer, (frame) => frame.type === 'receive' && frame.text === 'while alice moves')).id as number;
      await seen(alice.client, (frame) => frame.type === 'receive' && frame.id === moved);
      expect(alice.ids).toEqual([first, moved]);

      // Back: C re-syncs (the log holds nothing for it after NodeDown, and it has no sockets left: nothing to append).
      const mark = observer.frames.length;
      const resumedAt = Date.now();
      proxy.resume();
      await cluster.waitReady(c, 15_000);
      const readyAgain = Date.now() - resumedAt;
      await connect(c, await login(c, 'carol'));
      await presenceOf(observer, 'carol', 'online');
      await observer.sync();
      const changes = observer.frames.slice(mark).filter((frame) => frame.type === 'presence').flatMap((frame) => frame.changes as Array<{ user: string }>);
      expect(changes.map((change) => change.user)).toEqual(['carol']);
      expect(sawStatus(observer, 'alice', 'offline')).toBe(false);
      await expectSamePresence([a, b, c], alice.token);
      console.info(`paused link (TTL 1000 ms): C unready after ${unready} ms, sockets closed 1012 after ${closed} ms, declared down after ${declaredAfter} ms, ready again ${readyAgain} ms after the resume`);
      await alice.stop();
    } finally {
      await proxy.close();
    }
  });
  it('re-attaches, when the link is back before the node gave up, the users whose sockets it still holds after it was declared down — only those', { timeout: 90_000 }, async () => {
    const { cluster, a, b, c, proxy, observer } = await withProxiedNode(3000, 3000);
    try {
      const aliceToken = await login(c, 'alice');
      const alice = await connect(c, aliceToken);
      const bob = await connect(c, await login(c, 'bob'));
      for (const user of ['alice', 'bob']) await presenceOf(observer, user, 'online');

      const declared = Promise.race([a, b].map((node) => node.process!.waitForLog((line) => line.msg === DECLARED_DOWN)));
      const pausedAt = Date.now();
      proxy.pause();
      await cluster.waitUnready(c, 10_000);
      await bob.close(); // while C cannot reach the log: its detach is refused unavailable, nobody hears of it yet
      await declared;
      const declaredAfter = Date.now() - pausedAt;
      await everyoneShown(observer, ['alice', 'bob'], 'grace');
      // Back before C's one TTL without the log is over: alice's socket is still open there.
      proxy.resume();
      await cluster.waitReady(c, 10_000);
      const back = Date.now() - pausedAt;
      await presenceAfter(observer, 'alice', 'online', 'grace');
      expect(alice.closed).toBeUndefined();
      await presenceOf(observer, 'bob', 'offline');
      expect(sawStatus(observer, 'alice', 'offline')).toBe(false);
      expect(sawStatus(observer, 'bob', 'online')).toBe(true);
      await post(alice, [observer, alice], 'still on C');
      await expectSamePresence([a, b, c], aliceToken);
      console.info(`declared down ${declaredAfter} ms after the pause, link back and C ready ${back} ms after it: alice re-attached, bob offline after his grace`);
    } finally {
      await proxy.close();
    }
  });
});
