/**
 * @module domain/snapshot
 * Chat state to plain JSON and back: for checkpoints, durable snapshots and comparing a
 * replay with the live node.
 */
import { createChatState, describeState, type ChatState } from './state.ts';
import { nameKey } from './names.ts';

export type StateSnapshot = ReturnType<typeof describeState>;

export function toSnapshot(state: ChatState): StateSnapshot {
  return describeState(state);
}

/** Snapshots written before sessions were dropped from the fold carry a `sessions` table: read and ignored. */
export function fromSnapshot(snapshot: StateSnapshot & { sessions?: unknown }): ChatState {
  const state = createChatState();
  state.seq = snapshot.seq;
  state.online = snapshot.online;
  for (const [name, status] of snapshot.presence) state.presence.set(name, status);
  for (const [user, count] of snapshot.sockets) state.sockets.set(user, count);
  for (const [sid, exp] of snapshot.revoked) state.revoked.set(sid, exp);
  // Snapshots written before identities existed have none.
  for (const [user, identity] of snapshot.identities ?? []) if (!state.identities.has(nameKey(user))) state.identities.set(nameKey(user), { ...identity });
  state.sessionsCutoff = snapshot.sessionsCutoff ?? 0;
  return state;
}

export function cloneState(state: ChatState): ChatState {
  return fromSnapshot(toSnapshot(state));
}
