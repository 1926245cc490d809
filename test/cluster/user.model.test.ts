/**
 * The user machine's model paths (test/model/user-paths.ts: one per transition) replayed on three real
 * nodes sharing one real Redis: each path's user logs in, opens sockets and logs out on nodes taken
 * round-robin (a second pass puts all of a user's sockets on one node), and after every step every node
 * must show the model's status — to a watcher socket on that node (its presence frames so far: exactly
 * the model's status changes, no flap), on its `/list-users`, and in its own live user actor.
 *
 * A node's user actor is read from its inspection log (`CHAT_INSPECT=log`, trace level: one line per
 * actor transition) and replayed through a local copy of the machine, which must land in the state the
 * node logged at every line; that copy is what the coverage counts, per node. On several nodes the
 * actor counts the nodes the user is attached to (runtime/cluster-presence.ts), not the sockets.
 *
 * Nothing sleeps. After each step a barrier: a fresh "pulse" user comes online on every node. A node's
 * proposals reach Redis in order over its one connection, so each pulse is committed after everything
 * the step made that node propose; once every watcher has seen the three pulses, every node has applied
 * the step and published its presence change (changes inside one flush window coalesce, never reorder).
 */
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { createActor } from 'xstate';
import { userMachine, type UserEvent } from '../../src/machines/user.machine.ts';
import { expectedStatus, transitionPaths, type ModelEvent, type UserSnapshot } from '../model/user-paths.ts';
import { ModelCoverage } from '../model/coverage.ts';
import { Cluster, type ClusterNode } from '../support/cluster.ts';
import { connect, everyoneShown, login } from '../support/cluster-clients.ts';
import { TestClient, bearer, type Frame } from '../support/ws-client.ts';

/**
 * Short, as the two grace expiries the paths wait for cost this each; well above a step plus its barrier
 * (~0.1 s here), since a user shown in grace must still be in grace when every node has been checked,
 * even with the rest of `npm test` running on the same two cores.
 */
const GRACE_MS = 2000;
/** Long enough that a node busy on this 2-core machine is never declared down by mistake. */
const TTL_MS = 3000;
/** Bound on any one wait of a step (a socket's welcome, the barrier, a grace expiry): a failure names what it waited for. */
const STEP_WAIT_MS = 10_000;
const EVENTS: ReadonlySet<string> = new Set<UserEvent['type']>(['SOCKET_OPENED', 'SOCKET_CLOSED', 'LOGOUT', 'GRACE_EXPIRED']);

// The local copy replays a node's actor alone: the report to the supervisor is stubbed.
const machine = userMachine.provide({ actions: { reportStatus: () => {} } });
type Line = Record<string, unknown>;

const isActorLine = (line: Line, user: string): boolean => line.msg === 'actor transition' && line.actor === user;

async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${STEP_WAIT_MS} ms`)), STEP_WAIT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One node's user actor of one user, as the node logged it, replayed through a local copy of the machine. */
class LoggedActor {
  private cursor: number;
  private copy: ReturnType<typeof createActor<typeof machine>> | undefined;

  constructor(
    private readonly node: ClusterNode,
    private readonly user: string,
    private readonly coverage: ModelCoverage,
  ) {
    this.cursor = node.logs.length;
  }

  /** Folds the lines logged since the last call (each must leave the copy where the node was), then its state. */
  read(): { actor: string; sockets: number } {
    const logs = this.node.logs;
    for (; this.cursor < logs.length; this.cursor++) {
      const line = logs[this.cursor]!;
      if (!isActorLine(line, this.user)) continue;
      if (line.event === 'xstate.init') {
        this.copy = createActor(machine, { input: { user: this.user }, inspect: this.coverage.inspect });
        this.copy.start();
      } else {
        if (!this.copy || !EVENTS.has(String(line.event))) throw new Error(`${this.node.name} logged ${JSON.stringify(line)} before the actor started`);
        this.copy.send({ type: line.event } as UserEvent);
      }
      const { value, status } = this.copy.getSnapshot();
      expect({ state: value, status }, `${this.node.name}'s actor of ${this.user} after ${String(line.event)}`).toEqual({ state: line.state, status: line.status });
    }
    const snapshot = this.copy?.getSnapshot();
    if (!snapshot || snapshot.status === 'done') return { actor: 'offline', sockets: 0 };
    return { actor: String(snapshot.value), sockets: snapshot.context.sockets };
  }
}

interface Replay {
  user: string;
  token: string;
  sockets: Array<{ node: ClusterNode; client: TestClient }>;
  actors: LoggedActor[];
  /** The node the next socket of the user opens on. */
  place: () => ClusterNode;
  /** The model's status changes so far: what every watcher must have been shown, no more (no flap), no less. */
  changes: string[];
}

let cluster: Cluster;
let nodes: ClusterNode[];
/** `watchers[i]` is a socket on `nodes[i]` of a user who only watches presence. */
let watchers: TestClient[];
let listerToken: string;
const pulseSockets: TestClient[] = [];
let pulses = 0;
let turn = 0;

/** Round-robin over the nodes, for every login, socket and logout of the whole file. */
const nextNode = (): ClusterNode => nodes[turn++ % nodes.length]!;

/** A fresh user comes online on every node; returns once every watcher and every node's actor log saw all of them. */
async function barrier(): Promise<void> {
  const names = nodes.map((node) => `pulse${++pulses}-${node.name}`);
  await within('the pulses to connect', Promise.all(nodes.map(async (node, i) => pulseSockets.push(await connect(node, await login(node, names[i]!))))));
  await within(`every watcher to see ${names.join(', ')} online`, Promise.all(watchers.map((watcher) => everyoneShown(watcher, names, 'online'))));
  const logged = (node: ClusterNode, name: string) => node.last!.waitForLog((line) => isActorLine(line, name) && line.state === 'online');
  await within('every node to log the pulses online', Promise.all(nodes.flatMap((node) => names.map((name) => logged(node, name)))));
}

/** Every status this watcher's presence frames showed for `user`, in order. */
function shownHistory(watcher: TestClient, user: string): string[] {
  const changes = watcher.ofType('presence').flatMap((frame: Frame) => frame.changes as Array<{ user: string; status: string }>);
  return changes.filter((change) => change.user === user).map((change) => change.status);
}

async function listed(node: ClusterNode, user: string): Promise<string> {
  const response = await fetch(`${node.url}/list-users`, { headers: bearer(listerToken) });
  const body = (await response.json()) as { users: Array<{ name: string; status: string }>; next: string | null };
  expect(response.status).toBe(200);
  expect(body.next, 'every user on one page').toBeNull();
  return body.users.find((entry) => entry.name === user)?.status ?? 'offline';
}

/** What every node shows of the user, against the model's snapshot (the actor counts the nodes holding a socket). */
async function expectEveryNodeAsModelled(replay: Replay, snapshot: UserSnapshot): Promise<void> {
  expect(replay.sockets.length, 'sockets the test holds').toBe(snapshot.context.sockets);
  const status = expectedStatus(snapshot);
  if (status !== (replay.changes.at(-1) ?? 'offline')) replay.changes.push(status);
  const actor = snapshot.status === 'done' ? 'offline' : String(snapshot.value);
  const sockets = new Set(replay.sockets.map((socket) => socket.node)).size;
  const shown: Record<string, unknown> = {};
  const expected: Record<string, unknown> = {};
  for (const [i, node] of nodes.entries()) {
    shown[node.name] = { presence: shownHistory(watchers[i]!, replay.user), listed: await listed(node, replay.user), ...replay.actors[i]!.read() };
    expected[node.name] = { presence: replay.changes, listed: status, actor, sockets };
  }
  expect(shown, `${replay.user} on every node`).toEqual(expected);
}

async function perform(replay: Replay, event: ModelEvent): Promise<void> {
  switch (event.type) {
    case 'SOCKET_OPENED': {
      const node = replay.place();
      replay.sockets.push({ node, client: await within(`a socket of ${replay.user} on ${node.name}`, connect(node, replay.token)) });
      return;
    }
    case 'SOCKET_CLOSED':
      await replay.sockets.shift()!.client.close();
      return;
    case 'LOGOUT': {
      const response = await fetch(`${nextNode().url}/logout/${replay.user}`, { headers: bearer(replay.token) });
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      for (const { node, client } of replay.sockets.splice(0)) {
        expect((await within(`${node.name} to close ${replay.user}'s socket`, client.waitClosed())).code).toBe(4001);
      }
      return;
    }
    case 'GRACE_EXPIRED': {
      // Each node's grace timer runs out (CHAT_GRACE_MS): its actor of the user ends.
      const ended = (node: ClusterNode) => node.last!.waitForLog((line) => isActorLine(line, replay.user) && line.state === 'offline');
      await within(`${replay.user}'s grace to run out on every node`, Promise.all(nodes.map(ended)));
    }
  }
}

/** A failed path prints each node's log lines of the path's user, then its last lines above trace level. */
function tail(user: string): string {
  const show = (lines: Line[]): string => lines.map((line) => JSON.stringify(line)).join('\n');
  return nodes
    .map((node) => {
      const recent = node.logs.slice(-2000).filter((line) => Number(line.level) > 10);
      return `${node.name}:\n${show(node.logs.filter((line) => isActorLine(line, user)))}\n…\n${show(recent.slice(-15))}`;
    })
    .join('\n');
}

const paths = transitionPaths();
/**
 * Where a path's sockets open: each on the next node round-robin (a user's two sockets then always on two
 * nodes), or all on one node (taken round-robin per path), where a second socket is no new attachment.
 */
const PLACEMENTS: Array<{ name: string; prefix: string; place: () => () => ClusterNode }> = [
  { name: 'round-robin over the nodes', prefix: 'spread', place: () => nextNode },
  {
    name: 'all on one node',
    prefix: 'together',
    place: () => {
      const home = nextNode();
      return () => home;
    },
  },
];
/** Names of the paths replayed to their end on the cluster. */
const replayed = new Set<string>();
/** Per node: the user machine's states and transitions its live user actors took. */
const coverage = [0, 1, 2].map(() => new ModelCoverage([userMachine]));

describe('user machine, model-based, on three nodes', () => {
  beforeAll(async () => {
    cluster = await Cluster.start({
      nodes: 3,
      ttlMs: TTL_MS,
      graceMs: GRACE_MS,
      env: { CHAT_PRESENCE_FLUSH_MS: '50', CHAT_INSPECT: 'log', CHAT_LOG_LEVEL: 'trace', CHAT_PAGE_SIZE: '1000' },
    });
    nodes = cluster.nodes;
    watchers = await Promise.all(nodes.map(async (node) => connect(node, await login(node, `watcher-${node.name}`))));
    listerToken = await login(nodes[0]!, 'lister');
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  describe.each(PLACEMENTS)('sockets $name', ({ name: placement, prefix, place }) => {
    it.each(paths.map((path, index) => [path.name, path, index] as const))('%s', { timeout: 30_000 }, async (name, path, index) => {
      const user = `${prefix}${index}`;
      onTestFailed(() => console.error(`${name}, user ${user}:\n${tail(user)}`));
      const actors = nodes.map((node, i) => new LoggedActor(node, user, coverage[i]!));
      const replay: Replay = { user, token: '', sockets: [], changes: [], actors, place: place() };
      replay.token = await login(nextNode(), user);
      await barrier();
      await expectEveryNodeAsModelled(replay, createActor(machine, { input: { user } }).getSnapshot());
      for (const step of path.steps) {
        await perform(replay, step.event);
        await barrier();
        await expectEveryNodeAsModelled(replay, step.state);
      }
      replayed.add(`${placement}: ${name}`);
    });
  });

  // Runs after the paths above (a file's tests run in order); alone (-t) it fails, as it should.
  it('covered every state and transition of the user machine on each of the three nodes', () => {
    const every = PLACEMENTS.flatMap(({ name: placement }) => paths.map((path) => `${placement}: ${path.name}`));
    expect([...replayed].sort(), 'model edges replayed').toEqual(every.sort());
    for (const [i, node] of nodes.entries()) {
      expect(coverage[i]!.missing(), `${node.name}\n${coverage[i]!.report()}`).toEqual([]);
      expect(coverage[i]!.summary()).toEqual([{ machine: 'user', states: [4, 4], transitions: [8, 8] }]);
    }
  });
});
