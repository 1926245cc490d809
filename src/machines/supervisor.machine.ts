/**
 * @module machines/supervisor
 * The root actor. Owns the presence list, the revocations and name bindings and the one message sequence
 * (all in `context.chat`, a fold over domain events), validates commands, records each fact through the
 * provided `record` action (the journal) before applying it, emits what was committed for the transport
 * to deliver, and spawns user actors in bounded shards. Read it as a spec: every transition lists its
 * effects as named actions, in the order they run. A transition that commits a fact starts with the action
 * named after that fact (`sessionStarted`, `socketOpened`, …); its domain event is built once per step by
 * that fact's builder (supervisor-facts.ts), and `record`, `apply` and `emitCommitted` all read that event.
 * `context.chat` and the placement table are updated in place by named actions (copying a 50k-entry map
 * per event would make every message O(users)); only this machine writes them.
 */
import { assertEvent, emit, enqueueActions, setup } from 'xstate';
import type { ErrorCode } from '../domain/errors.ts';
import { evolve, sessionRefused, statusOf } from '../domain/state.ts';
import { nameKey } from '../domain/names.ts';
import { Placements } from './placement.ts';
import { factOf } from './supervisor-facts.ts';
import { shardId, userActorOf, type Commit, type SupervisorContext, type SupervisorEmitted, type SupervisorEvent, type SupervisorInput } from './supervisor-types.ts';
import { shardMachine, type ShardEvent } from './shard.machine.ts';
import type { UserEvent } from './user.machine.ts';

export { shardId, slotId, userActorOf } from './supervisor-types.ts';
export type { SupervisorContext, SupervisorEmitted, SupervisorEvent, SupervisorInput } from './supervisor-types.ts';

/**
 * Params of `record`, `apply` and `emitCommitted`: the step's fact, built once per incoming event by its
 * builder (supervisor-facts.ts, chosen by the event's type) and kept, keyed by the event object, until
 * `emitCommitted` — the step's last reader — takes it. No `assign`: an assign per fact copies the context
 * and the whole snapshot (XState's resolveAssign), which cost ~10 % of bench:actors.
 */
const built = new WeakMap<SupervisorEvent, Commit>();
function pending({ context, event }: { context: SupervisorContext; event: SupervisorEvent }): Commit {
  let commit = built.get(event);
  if (commit === undefined) {
    commit = { event: factOf(context, event) };
    built.set(event, commit);
  }
  return commit;
}

/** Params of the actions that concern the event's user. */
const user = ({ event }: { event: { user: string } }): { user: string } => ({ user: event.user });
const grace = ({ context, event }: { context: SupervisorContext; event: { user: string } }) => ({ user: event.user, ms: context.graceMs });

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    input: {} as SupervisorInput,
    events: {} as SupervisorEvent,
    emitted: {} as SupervisorEmitted,
  },
  actors: { shard: shardMachine },
  actions: {
    // The fact each step commits, named first in its transition; `pending` builds it (supervisor-facts.ts).
    sessionStarted: (_, _params: undefined) => {},
    sessionEnded: (_, _params: undefined) => {},
    identityBound: (_, _params: undefined) => {},
    socketOpened: (_, _params: undefined) => {},
    socketClosed: (_, _params: undefined) => {},
    groupMessagePosted: (_, _params: undefined) => {},
    directMessagePosted: (_, _params: undefined) => {},
    presenceChanged: (_, _params: undefined) => {},
    sessionsExpired: (_, _params: undefined) => {},
    /** Appends to the journal; provided by the runtime (a no-op here keeps the machine pure). */
    record: (_, _params: Commit) => {},
    /** Folds a recorded event into the state. */
    apply: ({ context }, params: Commit) => {
      evolve(context.chat, params.event);
    },
    /** Tells the transport what was committed, for delivery. */
    emitCommitted: emit(({ context, event }) => {
      const commit = pending({ context, event });
      built.delete(event);
      return { type: 'committed' as const, event: commit.event };
    }),
    /**
     * Starts (or restarts) the user's grace timer: after `ms` the runtime sends GRACE_EXPIRED. Provided by the
     * runtime on its clock; the no-op here keeps the machine pure.
     */
    armGrace: (_, _params: { user: string; ms: number }) => {},
    /** Stops the user's grace timer, if any. Provided by the runtime. */
    disarmGrace: (_, _params: { user: string }) => {},
    /** Places the user in a shard with room (spawning a new shard when all are full) and spawns its actor there. */
    spawnUserActor: enqueueActions(({ context, enqueue }, params: { user: string }) => {
      const place = context.placement.take(params.user);
      if (place.opened) enqueue.spawnChild('shard', { id: shardId(place.shard) });
      const spawn: ShardEvent = { type: 'SPAWN_USER', user: params.user, slot: place.slot };
      enqueue.sendTo(shardId(place.shard), spawn);
    }),
    /** The user's actor ended (it reported offline): its slot is free again. */
    releaseUserActor: ({ context }, params: { user: string }) => {
      context.placement.release(params.user);
    },
    /** Sends straight to the user's actor; through its shard only when the shard spawns it in this same step. */
    tellUser: enqueueActions(({ context, enqueue, self }, params: { user: string; event: UserEvent }) => {
      const place = context.placement.get(params.user);
      if (place === undefined) throw new Error(`supervisor: tellUser(${params.user}) without a user actor`);
      const actor = userActorOf({ context, children: self.getSnapshot().children }, params.user);
      if (actor) return enqueue.sendTo(actor, params.event);
      const forward: ShardEvent = { type: 'USER_EVENT', slot: place.slot, event: params.event };
      enqueue.sendTo(shardId(place.shard), forward);
    }),
    /**
     * After a restart on a durable journal the sockets and presence the state remembers died with the old
     * process: closes each socket and takes each listed user offline, through the ordinary transitions.
     */
    recoverAfterRestart: enqueueActions(({ context, enqueue }) => {
      for (const [who, open] of context.chat.sockets) {
        for (let i = 0; i < open; i++) enqueue.raise({ type: 'SOCKET_CLOSE', user: who, socket: 0 });
      }
      for (const who of context.chat.presence.keys()) enqueue.raise({ type: 'USER_STATUS', user: who, status: 'offline' });
    }),
    rejectRecipientOffline: emit(({ event }) => {
      assertEvent(event, 'POST_DIRECT');
      return rejection(event, 'user_offline', `${event.to} is offline`);
    }),
    rejectDraining: emit(({ event }) => {
      assertEvent(event, ['POST_GROUP', 'POST_DIRECT']);
      return rejection(event, 'shutting_down', 'the node is shutting down');
    }),
    rejectRevokedSocket: emit(({ event }) => {
      assertEvent(event, 'SOCKET_OPEN');
      return rejection(event, 'session_revoked', 'this session was logged out');
    }),
  },
  guards: {
    hasUserActor: ({ context, event }) => {
      assertEvent(event, ['LOGIN', 'LOGOUT', 'SOCKET_OPEN', 'SOCKET_CLOSE', 'GRACE_EXPIRED']);
      return context.placement.has(event.user);
    },
    /**
     * The recipient is listed (online or in grace). With several nodes a message arrives committed by the shared log (it
     * carries its `id`): the log's script decided this, atomically with the append, at the message's position.
     */
    recipientReachable: ({ context, event }) => {
      assertEvent(event, 'POST_DIRECT');
      return event.id !== undefined || statusOf(context.chat, event.to) !== 'offline';
    },
    sessionRevoked: ({ context, event }) => {
      assertEvent(event, 'SOCKET_OPEN');
      const claims = { sid: event.sid, user: event.user, issuedAt: event.issuedAt ?? Number.POSITIVE_INFINITY, identity: event.identity };
      return sessionRefused(context.chat, claims);
    },
    /** The name is bound to no identity yet: a binding is journaled once and never replaced. */
    nameUnbound: ({ context, event }) => {
      assertEvent(event, 'BIND_IDENTITY');
      return !context.chat.identities.has(nameKey(event.user));
    },
    /** An actor that ends without ever being listed (connecting → offline): no presence to change. */
    endedUnlisted: ({ context, event }) => {
      assertEvent(event, 'USER_STATUS');
      return event.status === 'offline' && statusOf(context.chat, event.user) === 'offline';
    },
    wentOffline: ({ event }) => {
      assertEvent(event, 'USER_STATUS');
      return event.status === 'offline';
    },
    wentToGrace: ({ event }) => {
      assertEvent(event, 'USER_STATUS');
      return event.status === 'grace';
    },
  },
}).createMachine({
  id: 'supervisor',
  description: 'The root actor: one per node. Transitions at this level apply in every state.',
  initial: 'running',
  context: ({ input }) => ({ ...input, placement: new Placements(input.shardSize) }),
  on: {
    LOGOUT: [
      {
        guard: 'hasUserActor',
        actions: [
          'sessionEnded',
          { type: 'record', params: pending },
          { type: 'apply', params: pending },
          'emitCommitted',
          { type: 'tellUser', params: ({ event }) => ({ user: event.user, event: { type: 'LOGOUT' } }) },
        ],
      },
      { actions: ['sessionEnded', { type: 'record', params: pending }, { type: 'apply', params: pending }, 'emitCommitted'] },
    ],
    SOCKET_CLOSE: [
      {
        guard: 'hasUserActor',
        actions: [
          'socketClosed',
          { type: 'record', params: pending },
          { type: 'apply', params: pending },
          'emitCommitted',
          { type: 'tellUser', params: ({ event }) => ({ user: event.user, event: { type: 'SOCKET_CLOSED' } }) },
        ],
      },
      { actions: ['socketClosed', { type: 'record', params: pending }, { type: 'apply', params: pending }, 'emitCommitted'] },
    ],
    USER_STATUS: [
      { guard: 'endedUnlisted', actions: [{ type: 'disarmGrace', params: user }, { type: 'releaseUserActor', params: user }] },
      {
        guard: 'wentOffline',
        actions: [
          'presenceChanged',
          { type: 'record', params: pending },
          { type: 'apply', params: pending },
          'emitCommitted',
          { type: 'disarmGrace', params: user },
          { type: 'releaseUserActor', params: user },
        ],
      },
      {
        guard: 'wentToGrace',
        actions: ['presenceChanged', { type: 'record', params: pending }, { type: 'apply', params: pending }, 'emitCommitted', { type: 'armGrace', params: grace }],
      },
      {
        actions: ['presenceChanged', { type: 'record', params: pending }, { type: 'apply', params: pending }, 'emitCommitted', { type: 'disarmGrace', params: user }],
      },
    ],
    GRACE_EXPIRED: {
      guard: 'hasUserActor',
      actions: { type: 'tellUser', params: ({ event }) => ({ user: event.user, event: { type: 'GRACE_EXPIRED' } }) },
    },
  },
  states: {
    running: {
      description: 'Accepts logins, sockets and messages; every fact is built once, then recorded, applied and emitted.',
      on: {
        LOGIN: [
          {
            guard: 'hasUserActor',
            actions: ['sessionStarted', { type: 'record', params: pending }, { type: 'apply', params: pending }, 'emitCommitted'],
          },
          {
            // A user who logs in but never opens a socket is dropped after the grace period too.
            actions: [
              'sessionStarted',
              { type: 'record', params: pending },
              { type: 'apply', params: pending },
              'emitCommitted',
              { type: 'spawnUserActor', params: user },
              { type: 'armGrace', params: grace },
            ],
          },
        ],
        BIND_IDENTITY: {
          guard: 'nameUnbound',
          actions: ['identityBound', { type: 'record', params: pending }, { type: 'apply', params: pending }, 'emitCommitted'],
        },
        SOCKET_OPEN: [
          { guard: 'sessionRevoked', actions: 'rejectRevokedSocket' },
          {
            guard: 'hasUserActor',
            actions: [
              'socketOpened',
              { type: 'record', params: pending },
              { type: 'apply', params: pending },
              'emitCommitted',
              { type: 'tellUser', params: ({ event }) => ({ user: event.user, event: { type: 'SOCKET_OPENED' } }) },
            ],
          },
          {
            actions: [
              'socketOpened',
              { type: 'record', params: pending },
              { type: 'apply', params: pending },
              'emitCommitted',
              { type: 'spawnUserActor', params: user },
              { type: 'armGrace', params: grace },
              { type: 'tellUser', params: ({ event }) => ({ user: event.user, event: { type: 'SOCKET_OPENED' } }) },
            ],
          },
        ],
        POST_GROUP: { actions: ['groupMessagePosted', { type: 'record', params: pending }, { type: 'apply', params: pending }, 'emitCommitted'] },
        POST_DIRECT: [
          {
            guard: 'recipientReachable',
            actions: ['directMessagePosted', { type: 'record', params: pending }, { type: 'apply', params: pending }, 'emitCommitted'],
          },
          { actions: 'rejectRecipientOffline' },
        ],
        EXPIRE_SESSIONS: { actions: ['sessionsExpired', { type: 'record', params: pending }, { type: 'apply', params: pending }, 'emitCommitted'] },
        RECOVER: { actions: 'recoverAfterRestart' },
        DRAIN: { target: 'draining' },
      },
    },
    draining: {
      description: 'Shutting down: no new logins, sockets or messages; logouts, sockets closing and user actors ending are still recorded so the journal stays whole.',
      tags: ['draining'],
      on: {
        POST_GROUP: { actions: 'rejectDraining' },
        POST_DIRECT: { actions: 'rejectDraining' },
      },
    },
  },
});

function rejection(event: { socket: number; cid?: string }, code: ErrorCode, message: string): SupervisorEmitted {
  const rejected: SupervisorEmitted = { type: 'rejected', socket: event.socket, code, message };
  if (event.cid !== undefined) rejected.cid = event.cid;
  return rejected;
}
