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
     * Tells the supervisor (found by its systemId, one hop instead of two through the shard); a user actor
     * running without a supervisor reports to its parent.
     */
    reportStatus: enqueueActions(({ context, enqueue, system }, params: { status: PresenceStatus }) => {
      const report: UserStatusReport = { type: 'USER_STATUS', user: context.user, status: params.status };
      const supervisor = system.get(SUPERVISOR_SYSTEM_ID);
      if (supervisor) enqueue.sendTo(supervisor, report);
      else enqueue.sendParent(report);
    }),
  },
  guards: {
    hasOtherSockets: ({ context }) => context.sockets > 1,
  },
}).createMachine({
  id: 'user',
  initial: 'connecting',
  context: ({ input }) => ({ user: input.user, sockets: 0 }),
  states: {
    connecting: {
      description: 'Logged in, no socket yet. Not listed. Dropped after the grace period if no socket opens.',
      meta: { description: 'Logged in, no socket yet; not listed in presence.' },
      on: {
        SOCKET_OPENED: { target: 'online', actions: 'addSocket' },
        LOGOUT: { target: 'offline', actions: 'dropSockets' },
        GRACE_EXPIRED: { target: 'offline' },
      },
    },
    online: {
      description: 'At least one open socket. Listed as online; reachable by direct messages.',
      meta: { description: 'At least one open socket; listed as online.' },
      tags: ['listed', 'reachable'],
      entry: { type: 'reportStatus', params: { status: 'online' } },
      on: {
        SOCKET_OPENED: { actions: 'addSocket' },
        SOCKET_CLOSED: [
          { guard: 'hasOtherSockets', actions: 'removeSocket' },
          { target: 'grace', actions: 'removeSocket' },
        ],
        LOGOUT: { target: 'offline', actions: 'dropSockets' },
      },
    },
    grace: {
      description: 'Last socket closed. Still listed (status grace) and reachable; a socket reopening returns to online with no leave/join flap.',
      meta: { description: 'Last socket closed; still listed as grace until the grace period ends.' },
      tags: ['listed', 'reachable'],
      entry: { type: 'reportStatus', params: { status: 'grace' } },
      on: {
        SOCKET_OPENED: { target: 'online', actions: 'addSocket' },
        LOGOUT: { target: 'offline', actions: 'dropSockets' },
        GRACE_EXPIRED: { target: 'offline' },
      },
    },
    offline: {
      description: 'Logged out or grace period over. Final: the actor stops and the user leaves the list.',
      meta: { description: 'Gone: logged out or the grace period ended.' },
      type: 'final',
      entry: { type: 'reportStatus', params: { status: 'offline' } },
    },
  },
});
