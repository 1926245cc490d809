/**
 * @module inspect/replay-restore
 * A replay continuing from a snapshot an online compaction wrote (journal/codec.ts `writtenOnline`): the node
 * went on running, so the supervisor is rebuilt with its user actors in the states the snapshot's fold says —
 * online users online with their sockets, users in grace in grace, users the snapshot lists with a running grace
 * timer but not in the presence list connecting — and each grace timer armed for the time it had left. The actors
 * are made with XState's own API: each machine's `resolveState` gives the state, `getPersistedSnapshot` its
 * persisted form, and the supervisor actor is created from it (`createActor(machine, { snapshot })`), which
 * restores the shards and their user actors as its children without running any entry action, so nothing is
 * reported or journaled again.
 */
import type { Snapshot } from 'xstate';
import type { ChatState } from '../domain/state.ts';
import { fromSnapshot } from '../domain/snapshot.ts';
import type { SnapshotRecord } from '../journal/codec.ts';
import { Placements } from '../machines/placement.ts';
import { shardMachine } from '../machines/shard.machine.ts';
import { shardId, slotId, supervisorMachine, type SupervisorContext } from '../machines/supervisor.machine.ts';
import { userMachine } from '../machines/user.machine.ts';

type UserState = 'connecting' | 'online' | 'grace';

/** A child in XState's persisted form: what `getPersistedSnapshot` writes for each child and `createActor` restores. */
interface PersistedChild {
  snapshot: Snapshot<unknown>;
  src: string;
}

export interface RestoredSupervisor {
  /** The supervisor's persisted snapshot, for `createSupervisorActor({ snapshot })`. */
  snapshot: Snapshot<unknown>;
  /** Grace timers to arm once the actor exists: each user connecting or in grace and when its timer is due. */
  graces: Array<{ user: string; due: number }>;
  /** What in the snapshot the machines cannot be in (reported as divergences). */
  problems: string[];
}

/** The user actors' states the snapshot describes, in name order. */
function userStates(chat: ChatState, graces: ReadonlyMap<string, number>): Array<[string, UserState]> {
  const states = new Map<string, UserState>();
  for (const [user, status] of chat.presence.entries()) states.set(user, status);
  for (const user of graces.keys()) if (!states.has(user)) states.set(user, 'connecting');
  return [...states].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function restoreFromOnlineSnapshot(
  record: SnapshotRecord & { at: number; graces: Array<[string, number]> },
  options: { graceMs: number; shardSize: number; now: () => number },
): RestoredSupervisor {
  const chat = fromSnapshot(record.state);
  const dueBy = new Map(record.graces);
  const placement = new Placements(options.shardSize);
  const shards: Array<Record<string, PersistedChild>> = [];
  const graces: RestoredSupervisor['graces'] = [];
  const problems: string[] = [];
  for (const [user, state] of userStates(chat, dueBy)) {
    const sockets = state === 'online' ? (chat.sockets.get(user) ?? 0) : 0;
    if (state === 'online' && sockets === 0) problems.push(`snapshot: ${user} is online with no socket`);
    const due = dueBy.get(user);
    if (state === 'online' && due !== undefined) problems.push(`snapshot: ${user} is online with a grace timer running`);
    if (state !== 'online') {
      if (due === undefined) problems.push(`snapshot: ${user} is ${state} with no grace timer`);
      else graces.push({ user, due });
    }
    const resolved = userMachine.resolveState({ value: state, context: { user, sockets } });
    const place = placement.take(user);
    (shards[place.shard] ??= {})[slotId(place.slot)] = { snapshot: userMachine.getPersistedSnapshot(resolved), src: 'user' };
  }
  const children: Record<string, PersistedChild> = {};
  shards.forEach((users, index) => {
    const shard = shardMachine.getPersistedSnapshot(shardMachine.resolveState({ value: 'active' }));
    children[shardId(index)] = { snapshot: withChildren(shard, users), src: 'shard' };
  });
  const context: SupervisorContext = { chat, graceMs: options.graceMs, shardSize: options.shardSize, now: options.now, placement };
  const supervisor = supervisorMachine.getPersistedSnapshot(supervisorMachine.resolveState({ value: 'running', context }));
  return { snapshot: withChildren(supervisor, children), graces, problems };
}

/** A persisted snapshot with its children: `resolveState` makes a state with none, and XState has no call that adds them. */
const withChildren = (persisted: Snapshot<unknown>, children: Record<string, PersistedChild>): Snapshot<unknown> => Object.assign({}, persisted, { children });
