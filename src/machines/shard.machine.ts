/**
 * @module machines/shard
 * A shard of at most `shardSize` user actors, spawned by the supervisor. XState's spawn and stop
 * copy the parent's children map, so keeping every parent's child count small keeps a login O(1)
 * in the number of users on the node, like a level of an Erlang supervision tree.
 * The shard spawns its users and stops them when they finish; the supervisor and the users talk
 * directly (USER_EVENT through the shard only reaches a user spawned in the same step).
 */
import { enqueueActions, setup, spawnChild, stopChild } from 'xstate';
import { userMachine, type UserEvent } from './user.machine.ts';

export type ShardEvent =
  /** Spawns the user's actor with its slot number as id (see slotId in the supervisor). */
  | { type: 'SPAWN_USER'; user: string; slot: number }
  | { type: 'USER_EVENT'; slot: number; event: UserEvent }
  /** XState's completion event of a user actor (it reached `offline`). */
  | { type: `xstate.done.actor.${string}`; actorId: string };

export const shardMachine = setup({
  types: {
    events: {} as ShardEvent,
  },
  actors: { user: userMachine },
  actions: {
    spawnUser: spawnChild('user', {
      id: ({ event }) => String((event as { slot: number }).slot),
      input: ({ event }) => ({ user: (event as { user: string }).user }),
    }),
    forwardToUser: enqueueActions(({ enqueue, event, self }) => {
      if (event.type !== 'USER_EVENT') return;
      const child = self.getSnapshot().children[String(event.slot)];
      if (child) enqueue.sendTo(child, event.event);
    }),
    stopUser: stopChild(({ event }) => (event as { actorId: string }).actorId),
  },
}).createMachine({
  id: 'shard',
  initial: 'active',
  states: {
    active: {
      description: 'Holds up to shardSize user actors: spawns them, stops each one that reached offline.',
      on: {
        SPAWN_USER: { actions: 'spawnUser' },
        USER_EVENT: { actions: 'forwardToUser' },
        'xstate.done.actor.*': { actions: 'stopUser' },
      },
    },
  },
});
