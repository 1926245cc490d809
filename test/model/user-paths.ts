/**
 * The user machine's model paths (xstate/graph): one path per transition of the bounded model, the
 * shortest path to its source state then the transition. Shared by the model-based tests that replay
 * them against a real node over `/ws` (user.model.test.ts) and over a mix of `/ws` and Socket.IO
 * sockets (user-socketio.model.test.ts).
 */
import { getAdjacencyMap, getShortestPaths, type StatePath } from 'xstate/graph';
import type { SnapshotFrom } from 'xstate';
import { userMachine, type UserEvent } from '../../src/machines/user.machine.ts';

const MAX_SOCKETS = 2;

export type UserSnapshot = SnapshotFrom<typeof userMachine>;
export type ModelEvent = UserEvent;

// The model is the machine itself; only the report to a parent is stubbed, as there is no parent in a traversal.
const model = userMachine.provide({ actions: { reportStatus: () => {} } });

const traversal = {
  input: { user: 'bob' },
  // Bound the model: more than two tabs adds states but no new behaviour.
  // A finished actor takes no events (the root-level LOGOUT is declared, not enabled, in `offline`).
  filterEvents: (snapshot: UserSnapshot, event: { type: string }) =>
    snapshot.status !== 'done' && !(event.type === 'SOCKET_OPENED' && snapshot.context.sockets >= MAX_SOCKETS),
};

export function serialize(snapshot: UserSnapshot): string {
  return JSON.stringify([snapshot.value, snapshot.context.sockets]);
}

/** One path per transition of the model: reach its source state, then take it. */
export function transitionPaths(): Array<{ name: string; steps: Array<{ event: ModelEvent; state: UserSnapshot }> }> {
  const shortest = getShortestPaths(model, traversal) as Array<StatePath<UserSnapshot, ModelEvent>>;
  const toState = new Map(shortest.map((path) => [serialize(path.state), path]));
  const adjacency = getAdjacencyMap(model, { ...traversal, serializeState: (s: UserSnapshot) => serialize(s) } as never);
  const paths: Array<{ name: string; steps: Array<{ event: ModelEvent; state: UserSnapshot }> }> = [];
  for (const [stateKey, { transitions }] of Object.entries(adjacency)) {
    const prefix = toState.get(stateKey);
    if (!prefix) throw new Error(`no path reaches ${stateKey}`);
    for (const { event, state } of Object.values(transitions) as Array<{ event: ModelEvent; state: UserSnapshot }>) {
      const steps = [...prefix.steps.slice(1), { event, state }];
      paths.push({ name: `${stateKey} --${event.type}--> ${serialize(state)}`, steps });
    }
  }
  return paths;
}

export const expectedStatus = (snapshot: UserSnapshot): string =>
  snapshot.hasTag('listed') ? String(snapshot.value) : 'offline';
