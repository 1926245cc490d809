/**
 * The model of the actor tree that test/model/supervisor.model.test.ts walks: a pure transition
 * function over two users — each logged out or in, with 0–3 open sockets and the status its user
 * actor should have — with every payload event given explicitly. xstate/graph builds its state graph
 * (`getAdjacencyMap`); `generatePaths` chains shortest routes to the nearest edge not yet taken until
 * every edge is, so the paths interleave the two users and their sockets.
 */
import { fromTransition } from 'xstate';
import { getAdjacencyMap } from 'xstate/graph';

export const USERS = ['alice', 'bob'] as const;
export type Name = (typeof USERS)[number];
export const MAX_SOCKETS = 3;
/** Steps per path, at most: a path is one node's life. */
const MAX_STEPS = 120;

export type Actor = 'none' | 'connecting' | 'online' | 'grace';
export interface UserModel {
  session: boolean;
  actor: Actor;
  sockets: number;
}
export interface Model {
  users: Record<Name, UserModel>;
  draining: boolean;
  /** Newest message id; not part of the graph's state key. */
  seq: number;
}

export type Step =
  | { type: 'LOGIN'; user: Name }
  | { type: 'LOGOUT'; user: Name }
  | { type: 'OPEN'; user: Name }
  | { type: 'CLOSE'; user: Name }
  | { type: 'POST_GROUP'; from: Name }
  | { type: 'POST_DIRECT'; from: Name; to: Name }
  | { type: 'GRACE_ELAPSES' }
  | { type: 'DRAIN' };

export const initialModel: Model = {
  users: { alice: { session: false, actor: 'none', sockets: 0 }, bob: { session: false, actor: 'none', sockets: 0 } },
  draining: false,
  seq: 0,
};

const other = (user: Name): Name => (user === 'alice' ? 'bob' : 'alice');
export const listed = (actor: Actor): boolean => actor === 'online' || actor === 'grace';

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
export function next(model: Model, step: Step): Model {
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

export const stateKey = (model: Model): string =>
  JSON.stringify([model.draining, ...USERS.map((user) => [model.users[user].session, model.users[user].actor, model.users[user].sockets])]);
const stepKey = (step: Step): string => JSON.stringify(step);

const modelLogic = fromTransition((model: Model, step: Step) => next(model, step), initialModel);
type ModelSnapshot = { context: Model };
export const graph = getAdjacencyMap(modelLogic, {
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
export function generatePaths(): Step[][] {
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

export const describeStep = (step: Step): string =>
  step.type === 'POST_DIRECT' ? `POST_DIRECT ${step.from}→${step.to}` : step.type === 'POST_GROUP' ? `POST_GROUP ${step.from}` : 'user' in step ? `${step.type} ${step.user}` : step.type;
