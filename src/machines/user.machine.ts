/**
 * @module machines/user
 * One actor per logged-in user: connecting → online → grace → offline.
 * Pure and timer-free: it counts sockets, leaves `connecting` or `grace` when the supervisor's grace
 * timer sends GRACE_EXPIRED, and reports every status change to the supervisor through `reportStatus`
 * (directly, not through the shard that spawned it). (XState cancels an actor's delayed events by scanning every pending one in the
 * system when the actor stops, so thousands of users in grace with `after` timers made each stop
 * O(users); the supervisor keeps the timers instead, outside XState's scheduler.)
 */
import { assign, enqueueActions, setup } from 'xstate';
import type { PresenceStatus } from '../domain/events.ts';

/** The systemId the supervisor registers under; user actors report to it directly. */
export const SUPERVISOR_SYSTEM_ID = 'supervisor';

export interface UserInput {
  user: string;
}

export interface UserContext {
  user: string;
  /** Open sockets of this user (tabs, devices). */
  sockets: number;
}

export type UserEvent = { type: 'SOCKET_OPENED' } | { type: 'SOCKET_CLOSED' } | { type: 'LOGOUT' } | { type: 'GRACE_EXPIRED' };

/** What a user actor tells its parent whenever its status changes. */
export interface UserStatusReport {
  type: 'USER_STATUS';
  user: string;
  status: PresenceStatus;
}

export const userMachine = setup({
  types: {
    context: {} as UserContext,
    input: {} as UserInput,
    events: {} as UserEvent,
  },
  actions: {
    addSocket: assign({ sockets: ({ context }) => context.sockets + 1 }),
    removeSocket: assign({ sockets: ({ context }) => Math.max(0, context.sockets - 1) }),
    /** Logout closes every socket of the user. */
    dropSockets: assign({ sockets: 0 }),
    /**
     * Tells the supervisor, found by its systemId (one hop instead of two through the shard). A user actor
     * only ever runs under a supervisor: without one this throws, failing the actor, rather than report
     * to whoever happens to be its parent.
     */
    reportStatus: enqueueActions(({ context, enqueue, system }, params: { status: PresenceStatus }) => {
      const supervisor = system.get(SUPERVISOR_SYSTEM_ID);
      if (!supervisor) throw new Error(`user ${context.user}: no actor with systemId "${SUPERVISOR_SYSTEM_ID}" to report ${params.status} to`);
      const report: UserStatusReport = { type: 'USER_STATUS', user: context.user, status: params.status };
      enqueue.sendTo(supervisor, report);
    }),
  },
  guards: {
    hasOtherSockets: ({ context }) => context.sockets > 1,
  },
}).createMachine({
  id: 'user',
  initial: 'connecting',
  context: ({ input }) => ({ user: input.user, sockets: 0 }),
  description: 'One per logged-in user. A logout in any state ends the actor.',
  on: {
    LOGOUT: { target: '.offline', actions: 'dropSockets' },
  },
  states: {
    connecting: {
      description: 'Logged in, no socket yet. Not listed. Dropped after the grace period if no socket opens.',
      on: {
        SOCKET_OPENED: { target: 'online', actions: 'addSocket' },
        GRACE_EXPIRED: { target: 'offline' },
      },
    },
    online: {
      description: 'At least one open socket. Listed as online; reachable by direct messages.',
      tags: ['listed'],
      entry: { type: 'reportStatus', params: { status: 'online' } },
      on: {
        SOCKET_OPENED: { actions: 'addSocket' },
        SOCKET_CLOSED: [
          { guard: 'hasOtherSockets', actions: 'removeSocket' },
          { target: 'grace', actions: 'removeSocket' },
        ],
      },
    },
    grace: {
      description: 'Last socket closed. Still listed (status grace) and reachable; a socket reopening returns to online with no leave/join flap.',
      tags: ['listed'],
      entry: { type: 'reportStatus', params: { status: 'grace' } },
      on: {
        SOCKET_OPENED: { target: 'online', actions: 'addSocket' },
        GRACE_EXPIRED: { target: 'offline' },
      },
    },
    offline: {
      description: 'Logged out or grace period over. Final: the actor stops and the user leaves the list.',
      type: 'final',
      entry: { type: 'reportStatus', params: { status: 'offline' } },
    },
  },
});
