/**
 * @module machines/supervisor
 * The root actor. Owns the presence list, the session table and the one message sequence
 * (all inside `context.chat`, a fold over domain events), validates commands, records each
 * fact through the provided `record` action (the journal) before applying it, emits what
 * was committed for the transport to deliver, and spawns user actors in bounded shards.
 *
 * `context.chat` and the placement tables are updated in place by named actions: copying a
 * 50k-entry map per event would make every message O(users). Only this machine writes them.
 */
import { enqueueActions, setup, spawnChild, type AnyActorRef } from 'xstate';
import type { DomainEvent, PresenceStatus } from '../domain/events.ts';
import type { ErrorCode } from '../domain/errors.ts';
import { evolve, statusOf, type ChatState } from '../domain/state.ts';
import { shardMachine, type ShardEvent } from './shard.machine.ts';
import type { UserEvent } from './user.machine.ts';

export interface SupervisorInput {
  chat: ChatState;
  graceMs: number;
  /** Most user actors one shard holds. */
  shardSize: number;
  /** The clock, injected so that the machine stays deterministic under test. */
  now: () => number;
}

/** Where a user's actor lives: its shard and its slot there (the slot number is the actor's id). */
export interface Placement {
  shard: number;
  slot: number;
}

export interface SupervisorContext extends SupervisorInput {
  /** Users with a live actor → where it lives. */
  placement: Map<string, Placement>;
  /** Live user actors per shard. */
  shardLoad: number[];
  /** Free slots per shard (slot numbers below shardSize). */
  freeSlots: number[][];
  /** Indexes of shards with room. */
  openShards: number[];
}

export type SupervisorEvent =
  | { type: 'LOGIN'; user: string; sid: string; exp: number }
  | { type: 'LOGOUT'; user: string; sid: string; exp: number }
  | { type: 'BIND_IDENTITY'; user: string; issuer: string; subject: string }
  | { type: 'SOCKET_OPEN'; user: string; sid: string; socket: number }
  | { type: 'SOCKET_CLOSE'; user: string; socket: number }
  | { type: 'POST_GROUP'; from: string; text: string; cid?: string; socket: number }
  | { type: 'POST_DIRECT'; from: string; to: string; text: string; cid?: string; socket: number }
  | { type: 'USER_STATUS'; user: string; status: PresenceStatus }
  /** Sent by the grace timer armed through `armGrace`. */
  | { type: 'GRACE_EXPIRED'; user: string }
  | { type: 'EXPIRE_SESSIONS' }
  | { type: 'RECOVER' }
  | { type: 'DRAIN' };

export type SupervisorEmitted =
  | { type: 'committed'; event: DomainEvent }
  | { type: 'rejected'; socket: number; code: ErrorCode; message: string; cid?: string };

type Commit = { event: DomainEvent };

export const shardId = (index: number): string => `shard-${index}`;

/**
 * A user actor's id in its shard is its slot number, not its name: XState copies a parent's children
 * object on every spawn and stop, and with names as keys each copy builds new V8 hidden classes
 * (≈ 0.4 µs per child, measured); small integer keys are array elements, copied in one go.
 */
export const slotId = (slot: number): string => String(slot);

/** The live actor of a user, if any (read from its shard's children). */
export function userActorOf(supervisor: { context: SupervisorContext; children: Record<string, unknown> }, user: string): AnyActorRef | undefined {
  const place = supervisor.context.placement.get(user);
  if (place === undefined) return undefined;
  const shard = supervisor.children[shardId(place.shard)] as AnyActorRef | undefined;
  return shard?.getSnapshot().children[slotId(place.slot)] as AnyActorRef | undefined;
}

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    input: {} as SupervisorInput,
    events: {} as SupervisorEvent,
    emitted: {} as SupervisorEmitted,
  },
  actors: { shard: shardMachine },
  actions: {
    /** Appends to the journal; provided by the runtime (a no-op here keeps the machine pure). */
    record: (_, _params: Commit) => {},
    /**
     * Starts (or restarts) the user's grace timer: after `ms` the runtime sends GRACE_EXPIRED. Provided by the
     * runtime on its clock; the no-op here keeps the machine pure.
     */
    armGrace: (_, _params: { user: string; ms: number }) => {},
    /** Stops the user's grace timer, if any. Provided by the runtime. */
    disarmGrace: (_, _params: { user: string }) => {},
    /** Folds a recorded event into the state. */
    apply: ({ context }, params: Commit) => {
      evolve(context.chat, params.event);
    },
    startSession: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'LOGIN') return;
      commit(named(enqueue), { type: 'SessionStarted', sid: event.sid, user: event.user, exp: event.exp, at: context.now() });
      named(enqueue)({ type: 'ensureUserActor', params: { user: event.user } });
    }),
    endSession: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'LOGOUT') return;
      commit(named(enqueue), { type: 'SessionEnded', sid: event.sid, user: event.user, exp: event.exp, reason: 'logout', at: context.now() });
      named(enqueue)({ type: 'tellUser', params: { user: event.user, event: { type: 'LOGOUT' } } });
    }),
    bindIdentity: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'BIND_IDENTITY') return;
      commit(named(enqueue), { type: 'IdentityBound', user: event.user, issuer: event.issuer, subject: event.subject, at: context.now() });
    }),
    openSocket: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'SOCKET_OPEN') return;
      commit(named(enqueue), { type: 'SocketOpened', user: event.user, socket: event.socket, at: context.now() });
      named(enqueue)({ type: 'ensureUserActor', params: { user: event.user } });
      named(enqueue)({ type: 'tellUser', params: { user: event.user, event: { type: 'SOCKET_OPENED' } } });
    }),
    closeSocket: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'SOCKET_CLOSE') return;
      commit(named(enqueue), { type: 'SocketClosed', user: event.user, socket: event.socket, at: context.now() });
      named(enqueue)({ type: 'tellUser', params: { user: event.user, event: { type: 'SOCKET_CLOSED' } } });
    }),
    postGroupMessage: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'POST_GROUP') return;
      const id = context.chat.seq + 1;
      const posted: DomainEvent = { type: 'GroupMessagePosted', id, from: event.from, text: event.text, ts: context.now() };
      if (event.cid !== undefined) posted.cid = event.cid;
      commit(named(enqueue), posted);
    }),
    postDirectMessage: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'POST_DIRECT') return;
      const id = context.chat.seq + 1;
      const posted: DomainEvent = { type: 'DirectMessagePosted', id, from: event.from, to: event.to, text: event.text, ts: context.now() };
      if (event.cid !== undefined) posted.cid = event.cid;
      commit(named(enqueue), posted);
    }),
    recordPresence: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'USER_STATUS') return;
      const previous = statusOf(context.chat, event.user);
      if (previous !== event.status) {
        commit(named(enqueue), { type: 'PresenceChanged', user: event.user, status: event.status, previous, at: context.now() });
      }
      if (event.status === 'grace') named(enqueue)({ type: 'armGrace', params: { user: event.user, ms: context.graceMs } });
      else named(enqueue)({ type: 'disarmGrace', params: { user: event.user } });
      if (event.status === 'offline') named(enqueue)({ type: 'releaseUserActor', params: { user: event.user } });
    }),
    /** After a restart on a durable journal: the sockets the state remembers died with the old process. */
    recoverAfterRestart: enqueueActions(({ context, enqueue }) => {
      const at = context.now();
      for (const [user, open] of [...context.chat.sockets]) {
        for (let i = 0; i < open; i++) commit(named(enqueue), { type: 'SocketClosed', user, socket: 0, at });
      }
      for (const [user, previous] of [...context.chat.presence.entries()]) {
        commit(named(enqueue), { type: 'PresenceChanged', user, status: 'offline', previous, at });
      }
    }),
    /** The user's grace timer fired: the actor leaves `connecting` or `grace` for `offline`. */
    expireGrace: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'GRACE_EXPIRED') return;
      named(enqueue)({ type: 'tellUser', params: { user: event.user, event: { type: 'GRACE_EXPIRED' } } });
    }),
    expireSessions: enqueueActions(({ context, enqueue }) => {
      commit(named(enqueue), { type: 'SessionsExpired', at: context.now() });
    }),
    rejectRecipientOffline: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'POST_DIRECT') return;
      enqueue.emit(rejection(event, 'user_offline', `${event.to} is offline`));
    }),
    rejectDraining: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'POST_GROUP' && event.type !== 'POST_DIRECT') return;
      enqueue.emit(rejection(event, 'shutting_down', 'the node is shutting down'));
    }),
    rejectRevokedSocket: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'SOCKET_OPEN') return;
      enqueue.emit({ type: 'rejected', socket: event.socket, code: 'session_revoked', message: 'this session was logged out' });
    }),
    /** Places the user in a shard with room (spawning a new shard when all are full) and spawns its actor. */
    ensureUserActor: enqueueActions(({ context, enqueue }, params: { user: string }) => {
      if (context.placement.has(params.user)) return;
      let index = context.openShards[context.openShards.length - 1];
      if (index === undefined) {
        index = context.shardLoad.length;
        context.shardLoad.push(0);
        context.freeSlots.push(Array.from({ length: context.shardSize }, (_, slot) => context.shardSize - 1 - slot));
        context.openShards.push(index);
        enqueue.spawnChild('shard', { id: shardId(index) });
      }
      const slot = context.freeSlots[index]!.pop()!;
      context.placement.set(params.user, { shard: index, slot });
      context.shardLoad[index] = (context.shardLoad[index] ?? 0) + 1;
      if (context.shardLoad[index] === context.shardSize) context.openShards.pop();
      const spawn: ShardEvent = { type: 'SPAWN_USER', user: params.user, slot };
      enqueue.sendTo(shardId(index), spawn);
      // A user who logs in but never opens a socket is dropped after the grace period too.
      named(enqueue)({ type: 'armGrace', params: { user: params.user, ms: context.graceMs } });
    }),
    releaseUserActor: ({ context }, params: { user: string }) => {
      const place = context.placement.get(params.user);
      if (place === undefined) return;
      context.placement.delete(params.user);
      const index = place.shard;
      context.freeSlots[index]!.push(place.slot);
      const load = (context.shardLoad[index] ?? 1) - 1;
      context.shardLoad[index] = load;
      if (load === context.shardSize - 1) context.openShards.push(index);
    },
    /** Sends straight to the user's actor; through its shard only when the shard spawns it in this same step. */
    tellUser: enqueueActions(({ context, enqueue, self }, params: { user: string; event: UserEvent }) => {
      const place = context.placement.get(params.user);
      if (place === undefined) return;
      const user = userActorOf({ context, children: self.getSnapshot().children }, params.user);
      if (user) return enqueue.sendTo(user, params.event);
      const forward: ShardEvent = { type: 'USER_EVENT', slot: place.slot, event: params.event };
      enqueue.sendTo(shardId(place.shard), forward);
    }),
  },
  guards: {
    recipientReachable: ({ context, event }) =>
      event.type === 'POST_DIRECT' && statusOf(context.chat, event.to) !== 'offline',
    sessionRevoked: ({ context, event }) => event.type === 'SOCKET_OPEN' && context.chat.revoked.has(event.sid),
    /** The name is bound to no identity yet: a binding is journaled once and never replaced. */
    nameUnbound: ({ context, event }) => event.type === 'BIND_IDENTITY' && !context.chat.identities.has(event.user),
  },
}).createMachine({
  id: 'supervisor',
  initial: 'running',
  context: ({ input }) => ({ ...input, placement: new Map(), shardLoad: [], freeSlots: [], openShards: [] }),
  states: {
    running: {
      description: 'Accepts logins, sockets and messages; every fact is recorded, applied and emitted.',
      meta: { description: 'Serving: commands are validated, journaled, applied and delivered.' },
      tags: ['accepting'],
      on: {
        LOGIN: { actions: 'startSession' },
        LOGOUT: { actions: 'endSession' },
        BIND_IDENTITY: { guard: 'nameUnbound', actions: 'bindIdentity' },
        SOCKET_OPEN: [{ guard: 'sessionRevoked', actions: 'rejectRevokedSocket' }, { actions: 'openSocket' }],
        SOCKET_CLOSE: { actions: 'closeSocket' },
        POST_GROUP: { actions: 'postGroupMessage' },
        POST_DIRECT: [{ guard: 'recipientReachable', actions: 'postDirectMessage' }, { actions: 'rejectRecipientOffline' }],
        USER_STATUS: { actions: 'recordPresence' },
        GRACE_EXPIRED: { actions: 'expireGrace' },
        EXPIRE_SESSIONS: { actions: 'expireSessions' },
        RECOVER: { actions: 'recoverAfterRestart' },
        DRAIN: { target: 'draining' },
      },
    },
    draining: {
      description: 'Shutting down: no new messages; sockets closing are still recorded so the journal stays whole.',
      meta: { description: 'Shutting down: refuses new messages, still records sockets closing.' },
      tags: ['draining'],
      on: {
        LOGOUT: { actions: 'endSession' },
        SOCKET_CLOSE: { actions: 'closeSocket' },
        POST_GROUP: { actions: 'rejectDraining' },
        POST_DIRECT: { actions: 'rejectDraining' },
        USER_STATUS: { actions: 'recordPresence' },
        GRACE_EXPIRED: { actions: 'expireGrace' },
      },
    },
  },
});

/** An enqueuer that may name this machine's own actions (setup cannot type them while they are being defined). */
interface NamedEnqueue {
  (action: { type: string; params: object }): void;
  emit(event: SupervisorEmitted): void;
}

function named(enqueue: unknown): NamedEnqueue {
  return enqueue as NamedEnqueue;
}

/** Journal first, then apply, then tell the world: the order that makes a replay exact. */
function commit(enqueue: NamedEnqueue, event: DomainEvent): void {
  enqueue({ type: 'record', params: { event } });
  enqueue({ type: 'apply', params: { event } });
  enqueue.emit({ type: 'committed', event });
}

function rejection(
  event: { socket: number; cid?: string },
  code: ErrorCode,
  message: string,
): SupervisorEmitted {
  const rejected: SupervisorEmitted = { type: 'rejected', socket: event.socket, code, message };
  if (event.cid !== undefined) rejected.cid = event.cid;
  return rejected;
}
