/**
 * Model-based tests of the whole actor tree (supervisor, shards, user actors) against a real node
 * over real sockets and HTTP. The model is a pure transition function over two users — each logged
 * out or in, with 0–3 open sockets and the status its user actor should have — with every payload
 * event given explicitly (LOGIN alice, OPEN bob, POST_DIRECT alice→bob, …). xstate/graph builds its
 * state graph; a greedy walk then chains shortest paths until every model edge is taken, so the paths
 * interleave the two users and their sockets. Each step runs on the node and the node must agree with
 * the model (actor states, sockets, presence, sequence, what each socket receives).
 *
 * Coverage of the machines themselves is measured on the node's live actors (./coverage.ts) and must
 * reach 100% of states and transitions of user, shard and supervisor. Two transitions cannot be reached
 * from outside a running node and are driven by one command injected in-process, reported as such:
 * `DRAIN` without closing the listener (a real stop drains and stops in one synchronous turn, so no
 * frame can reach the draining state), and `SOCKET_OPEN` of a session revoked between the upgrade's
 * check and the open (a race the upgrade closes off).
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fromTransition } from 'xstate';
import { getAdjacencyMap } from 'xstate/graph';
import { statusOf } from '../../src/domain/state.ts';
import { userMachine } from '../../src/machines/user.machine.ts';
import { shardMachine } from '../../src/machines/shard.machine.ts';
import { supervisorMachine } from '../../src/machines/supervisor.machine.ts';
import { startIdp, type Idp } from '../support/idp.ts';
import { browserLogin, CALLBACK, PUBLIC_URL } from '../support/auth.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer, type Frame } from '../support/ws-client.ts';
import { ModelCoverage } from './coverage.ts';

const USERS = ['alice', 'bob'] as const;
type Name = (typeof USERS)[number];
const MAX_SOCKETS = 3;
/** Equal to the node's session sweep interval: each GRACE step also runs one EXPIRE_SESSIONS sweep. */
const GRACE_MS = 60_000;
const MAX_STEPS = 120;

type Actor = 'none' | 'connecting' | 'online' | 'grace';
interface UserModel {
  session: boolean;
  actor: Actor;
  sockets: number;
}
interface Model {
  users: Record<Name, UserModel>;
  draining: boolean;
  /** Newest message id; not part of the graph's state key. */
  seq: number;
}

type Step =
  | { type: 'LOGIN'; user: Name }
  | { type: 'LOGOUT'; user: Name }
  | { type: 'OPEN'; user: Name }
  | { type: 'CLOSE'; user: Name }
  | { type: 'POST_GROUP'; from: Name }
  | { type: 'POST_DIRECT'; from: Name; to: Name }
  | { type: 'GRACE_ELAPSES' }
  | { type: 'DRAIN' };

const initialModel: Model = {
  users: { alice: { session: false, actor: 'none', sockets: 0 }, bob: { session: false, actor: 'none', sockets: 0 } },
  draining: false,
  seq: 0,
};

const other = (user: Name): Name => (user === 'alice' ? 'bob' : 'alice');
const listed = (actor: Actor): boolean => actor === 'online' || actor === 'grace';

/** The explicit payload events enabled in a model state. */
function enabled(model: Model): Step[] {
  const steps: Step[] = [];
  for (const user of USERS) {
    const u = model.users[user];
    if (!model.draining) steps.push({ type: 'LOGIN', user });
    if (u.session) steps.push({ type: 'LOGOUT', user });
    if (!model.draining && u.session && u.sockets < MAX_SOCKETS) steps.push({ type: 'OPEN', user });
    if (u.sockets > 0) {
      steps.push({ type: 'CLOSE', user }, { type: 'POST_GROUP', from: user }, { type: 'POST_DIRECT', from: user, to: other(user) });
    }
  }
  if (USERS.some((user) => ['connecting', 'grace'].includes(model.users[user].actor))) steps.push({ type: 'GRACE_ELAPSES' });
  if (!model.draining) steps.push({ type: 'DRAIN' });
  return steps;
}

/** The model: what the node must do. Pure. */
function next(model: Model, step: Step): Model {
  const users = { alice: { ...model.users.alice }, bob: { ...model.users.bob } };
  let { seq, draining } = model;
  switch (step.type) {
    case 'LOGIN':
      users[step.user].session = true;
      if (users[step.user].actor === 'none') users[step.user].actor = 'connecting';
      break;
    case 'LOGOUT':
      users[step.user] = { session: false, actor: 'none', sockets: 0 };
      break;
    case 'OPEN':
      users[step.user].sockets += 1;
      users[step.user].actor = 'online';
      break;
    case 'CLOSE':
      users[step.user].sockets -= 1;
      if (users[step.user].sockets === 0) users[step.user].actor = 'grace';
      break;
    case 'POST_GROUP':
      if (!draining) seq += 1;
      break;
    case 'POST_DIRECT':
      if (!draining && listed(users[step.to].actor)) seq += 1;
      break;
    case 'GRACE_ELAPSES':
      for (const user of USERS) if (['connecting', 'grace'].includes(users[user].actor)) users[user].actor = 'none';
      break;
    case 'DRAIN':
      draining = true;
      break;
  }
  return { users, draining, seq };
}

const stateKey = (model: Model): string =>
  JSON.stringify([model.draining, ...USERS.map((user) => [model.users[user].session, model.users[user].actor, model.users[user].sockets])]);
const stepKey = (step: Step): string => JSON.stringify(step);

const modelLogic = fromTransition((model: Model, step: Step) => next(model, step), initialModel);
type ModelSnapshot = { context: Model };
const graph = getAdjacencyMap(modelLogic, {
  events: (snapshot: ModelSnapshot) => enabled(snapshot.context),
  serializeState: (snapshot: ModelSnapshot) => stateKey(snapshot.context),
  serializeEvent: (event: Step) => stepKey(event),
} as never) as unknown as Record<string, { state: { context: Model }; transitions: Record<string, { event: Step; state: { context: Model } }> }>;

/** What must be taken at least once: every model edge while running; while draining, each event once. */
function goalOf(from: Model, step: Step): string {
  if (step.type === 'DRAIN') return 'DRAIN';
  return from.draining ? `draining ${stepKey(step)}` : `${stateKey(from)} ${stepKey(step)}`;
}

/** Greedy walk: from the current state, the shortest route to the nearest edge not yet taken; new path when stuck. */
function generatePaths(): Step[][] {
  const goals = new Set<string>();
  for (const { state, transitions } of Object.values(graph)) {
    for (const { event } of Object.values(transitions)) goals.add(goalOf(state.context, event));
  }
  const paths: Step[][] = [];
  while (goals.size > 0) {
    let at = stateKey(initialModel);
    const path: Step[] = [];
    while (path.length < MAX_STEPS) {
      const route = routeToGoal(at, goals, false) ?? routeToGoal(at, goals, true);
      if (!route) break;
      for (const { from, step, to } of route) {
        goals.delete(goalOf(graph[from]!.state.context, step));
        path.push(step);
        at = to;
      }
    }
    if (path.length === 0) throw new Error(`model edges not reachable from the start: ${[...goals].slice(0, 5).join('; ')}`);
    paths.push(path);
  }
  return paths;
}

function routeToGoal(start: string, goals: Set<string>, mayDrain: boolean): Array<{ from: string; step: Step; to: string }> | undefined {
  const back = new Map<string, { from: string; step: Step } | null>([[start, null]]);
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const from = queue[i]!;
    for (const { event, state } of Object.values(graph[from]!.transitions)) {
      const to = stateKey(state.context);
      if (goals.has(goalOf(graph[from]!.state.context, event))) {
        const route = [{ from, step: event, to }];
        for (let hop = back.get(from); hop; hop = back.get(hop.from)) route.unshift({ from: hop.from, step: hop.step, to: route[0]!.from });
        return route;
      }
      if (back.has(to) || (event.type === 'DRAIN' && !mayDrain)) continue;
      back.set(to, { from, step: event });
      queue.push(to);
    }
  }
  return undefined;
}

const describeStep = (step: Step): string =>
  step.type === 'POST_DIRECT' ? `POST_DIRECT ${step.from}→${step.to}` : step.type === 'POST_GROUP' ? `POST_GROUP ${step.from}` : 'user' in step ? `${step.type} ${step.user}` : step.type;

const paths = generatePaths();
const coverage = new ModelCoverage([userMachine, shardMachine, supervisorMachine]);

let node: TestNode;
let tokens: Record<Name, string>;
let sockets: Record<Name, TestClient[]>;
let cids = 0;

async function perform(step: Step, before: Model, after: Model): Promise<void> {
  switch (step.type) {
    case 'LOGIN':
      tokens[step.user] = (await node.login(step.user)).token;
      return;
    case 'LOGOUT': {
      const response = await fetch(`${node.url}/logout/${step.user}`, { headers: bearer(tokens[step.user]) });
      expect(response.status).toBe(200);
      for (const socket of sockets[step.user].splice(0)) expect((await socket.waitClosed()).code).toBe(4001);
      return;
    }
    case 'OPEN': {
      const socket = await TestClient.connect(node.wsUrl, bearer(tokens[step.user]));
      expect((await socket.nextOfType('welcome')).seq).toBe(before.seq);
      sockets[step.user].push(socket);
      return;
    }
    case 'CLOSE':
      await sockets[step.user].shift()!.close(); // the oldest first: sockets of one user interleave
      return;
    case 'POST_GROUP':
    case 'POST_DIRECT':
      return post(step, before, after);
    case 'GRACE_ELAPSES':
      vi.advanceTimersByTime(GRACE_MS);
      return;
    case 'DRAIN':
      coverage.via = 'injected';
      node.node.runtime.send({ type: 'DRAIN' });
      coverage.via = 'node';
      return;
  }
}

/** Sends from the sender's oldest socket; checks the answer there and the delivery on every socket that must see it. */
async function post(step: Extract<Step, { type: 'POST_GROUP' | 'POST_DIRECT' }>, before: Model, after: Model): Promise<void> {
  const cid = `c-${++cids}`;
  const [sender] = sockets[step.from];
  const frame = step.type === 'POST_GROUP' ? { type: 'message', text: `hi ${cid}`, cid } : { type: 'direct', to: step.to, text: `hi ${cid}`, cid };
  sender!.send(frame);
  const answer = await sender!.next((f: Frame) => f.cid === cid);
  if (after.seq === before.seq) {
    const code = before.draining ? 'shutting_down' : 'user_offline';
    expect(answer, `refused with ${code}`).toMatchObject({ type: 'error', code });
    return;
  }
  expect(answer).toMatchObject({ type: step.type === 'POST_GROUP' ? 'receive' : 'direct', id: after.seq, from: step.from });
  const audience = step.type === 'POST_GROUP' ? [...sockets.alice, ...sockets.bob] : [...sockets[step.from], ...sockets[step.to]];
  await Promise.all(audience.filter((socket) => socket !== sender).map((socket) => socket.next((f: Frame) => f.id === after.seq && f.cid === cid)));
}

function assertAgrees(model: Model, where: string): void {
  const state = node.node.runtime.state;
  for (const user of USERS) {
    const expected = model.users[user];
    expect(node.node.runtime.userActorState(user) ?? 'none', `${where}: ${user}'s actor`).toBe(expected.actor);
    expect(state.sockets.get(user) ?? 0, `${where}: ${user}'s open sockets`).toBe(expected.sockets);
    expect(statusOf(state, user), `${where}: ${user}'s presence`).toBe(listed(expected.actor) ? expected.actor : 'offline');
  }
  expect(state.seq, `${where}: sequence`).toBe(model.seq);
  expect(node.node.runtime.draining, `${where}: draining`).toBe(model.draining);
}

describe('actor tree, model-based against a real node: two users, several sockets each, interleaved', () => {
  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    node = await startTestNode(
      { CHAT_GRACE_MS: String(GRACE_MS), CHAT_LOG_LEVEL: 'warn', CHAT_RATE_BURST: '1000000', CHAT_RATE_PER_S: '1000000' },
      { inspect: coverage.inspect },
    );
    tokens = { alice: '', bob: '' };
    sockets = { alice: [], bob: [] };
  });

  afterEach(async () => {
    await Promise.all([...sockets.alice, ...sockets.bob].map((socket) => socket.close()));
    await node.close();
    vi.useRealTimers();
  });

  it('walks every edge of the model', () => {
    const edges = Object.values(graph).reduce((sum, { transitions }) => sum + Object.keys(transitions).length, 0);
    console.log(`supervisor model: ${Object.keys(graph).length} states, ${edges} edges, ${paths.length} paths, ${paths.reduce((n, p) => n + p.length, 0)} steps`);
    expect(paths.length).toBeGreaterThan(0);
  });

  it.each(paths.map((path, index) => [`path ${index + 1}: ${path.length} steps, ${path.slice(0, 6).map(describeStep).join(', ')}, …`, path] as const))(
    '%s',
    async (_name, path) => {
      let model = initialModel;
      for (const [index, step] of path.entries()) {
        const after = next(model, step);
        await perform(step, model, after);
        assertAgrees(after, `step ${index + 1} (${describeStep(step)})`);
        model = after;
      }
      if (!model.draining) {
        const lister = (await node.login('lister')).token;
        const list = (await fetch(`${node.url}/list-users`, { headers: bearer(lister) }).then((r) => r.json())) as { users: Array<{ name: string; status: string }> };
        const expected = USERS.filter((user) => listed(model.users[user].actor)).map((user) => ({ name: user, status: model.users[user].actor }));
        expect(list.users).toEqual(expected);
      }
    },
  );

  it('refuses a socket whose session was revoked after the upgrade checked it (SOCKET_OPEN [sessionRevoked])', async () => {
    const { token } = await node.login('alice');
    const sid = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    expect((await fetch(`${node.url}/logout/alice`, { headers: bearer(token) })).status).toBe(200);
    await expect(TestClient.connect(node.wsUrl, bearer(token))).rejects.toMatchObject({ status: 401 });
    const rejected: unknown[] = [];
    node.node.runtime.on('rejected', (event) => rejected.push(event));
    coverage.via = 'injected';
    node.node.runtime.send({ type: 'SOCKET_OPEN', user: 'alice', sid, socket: 999_999 });
    coverage.via = 'node';
    expect(rejected).toMatchObject([{ socket: 999_999, code: 'session_revoked' }]);
    expect(node.node.runtime.state.sockets.get('alice')).toBeUndefined();
  });
});

describe('identity binding through a real OpenID provider (BIND_IDENTITY [nameUnbound])', () => {
  let idp: Idp;
  let oidcNode: TestNode;

  afterEach(async () => {
    await oidcNode?.close();
    await idp?.close();
  });

  it('binds the name on the first OIDC login and leaves the binding alone on the next', async () => {
    idp = await startIdp({ redirectUris: [CALLBACK] });
    oidcNode = await startTestNode(
      { CHAT_OIDC_ISSUER: idp.issuer.href, CHAT_OIDC_CLIENT_ID: idp.clientId, CHAT_OIDC_CLIENT_SECRET: idp.clientSecret, CHAT_PUBLIC_URL: PUBLIC_URL, CHAT_LOG_LEVEL: 'warn' },
      { auth: true, inspect: coverage.inspect },
    );
    const bound: string[] = [];
    oidcNode.node.runtime.on('committed', ({ event }) => event.type === 'IdentityBound' && bound.push(event.user));
    await browserLogin(oidcNode, idp, 'alice');
    await browserLogin(oidcNode, idp, 'alice');
    expect(bound).toEqual(['alice@example.com']);
  });
});

afterAll(() => {
  const report = coverage.report();
  console.log(report);
  expect(coverage.missing(), report).toEqual([]);
  expect(coverage.percent()).toBe(100);
});
