/**
 * @module machines/shard
 * A shard of at most `shardSize` user actors, spawned by the supervisor. XState's spawn copies
 * the parent's children map, so keeping every parent's child count bounded keeps a login O(1)
 * in the number of users on the node, like a level of an Erlang supervision tree.
 */
import { enqueueActions, sendParent, setup, spawnChild, stopChild } from 'xstate';
import { userMachine, type UserEvent, type UserStatusReport } from './user.machine.ts';


export type ShardEvent =
  | { type: 'SPAWN_USER'; user: string }
  | { type: 'USER_EVENT'; user: string; event: UserEvent }
  | UserStatusReport;

export const shardMachine = setup({
  types: {
    events: {} as ShardEvent,
  },
  actors: { user: userMachine },
  actions: {
    spawnUser: spawnChild('user', {
      id: ({ event }) => (event as { user: string }).user,
      input: ({ event }) => ({ user: (event as { user: string }).user }),
    }),
    forwardToUser: enqueueActions(({ enqueue, event, self }) => {
      if (event.type !== 'USER_EVENT') return;
      const child = self.getSnapshot().children[event.user];
      if (child) enqueue.sendTo(child, event.event);
    }),
    stopUser: stopChild(({ event }) => (event as UserStatusReport).user),
    reportToSupervisor: sendParent(({ event }) => event as UserStatusReport),
  },
  guards: {
    userLeft: ({ event }) => event.type === 'USER_STATUS' && event.status === 'offline',
  },
}).createMachine({
  id: 'shard',
  initial: 'active',
  states: {
    active: {
      description: 'Holds up to shardSize user actors; forwards socket and logout events to them and their status reports up.',
      meta: { description: 'Routes events to its user actors and their reports to the supervisor.' },
      on: {
        SPAWN_USER: { actions: 'spawnUser' },
        USER_EVENT: { actions: 'forwardToUser' },
        USER_STATUS: [
          { guard: 'userLeft', actions: ['stopUser', 'reportToSupervisor'] },
          { actions: 'reportToSupervisor' },
        ],
      },
    },
  },
});
