/**
 * @module runtime/supervisor-actor
 * The one place a supervisor actor is built, for the running node (`ChatRuntime`) and for a journal
 * replay (`inspect/replay.ts`): the machine with its provided actions — `record` and the grace timers
 * behind `armGrace` / `disarmGrace` — registered under the systemId the user actors report to.
 * Several nodes (`ClusterRuntime`): `record` keeps messages in the history window (the shared log already
 * holds every fact) and a grace timer running out proposes `GraceExpired` to the log (`graceOver`).
 */
import { createActor, type Actor, type InspectionEvent, type SimulatedClock, type Snapshot } from 'xstate';
import type { DomainEvent } from '../domain/events.ts';
import type { ChatState } from '../domain/state.ts';
import { supervisorMachine } from '../machines/supervisor.machine.ts';
import { SUPERVISOR_SYSTEM_ID } from '../machines/user.machine.ts';
import { graceTimers, type TimerClock } from './grace-timers.ts';

export type SupervisorActor = Actor<typeof supervisorMachine>;
export type GraceTimers = ReturnType<typeof graceTimers>;

export interface SupervisorActorOptions {
  /** The state to start from (rebuilt from a journal, or empty). */
  chat: ChatState;
  graceMs: number;
  shardSize: number;
  now: () => number;
  /** What the `record` action does with each fact before it is applied: append it to the journal, or collect it. */
  record: (event: DomainEvent) => void;
  /** The clock of the grace timers. */
  timers: TimerClock;
  /** What a grace timer running out does; by default it sends GRACE_EXPIRED to the supervisor at once. */
  graceOver?: (user: string) => void;
  /** XState's clock for the actor's own delays (a replay passes its SimulatedClock). */
  clock?: SimulatedClock;
  inspect?: (event: InspectionEvent) => void;
  /**
   * A persisted snapshot to restore instead of starting from `chat` (a replay resuming from an online compaction's
   * snapshot: its user actors restored in their states; inspect/replay-restore.ts). Its context replaces the input.
   */
  snapshot?: Snapshot<unknown>;
}

/** A supervisor actor, not started, and its grace timers (cleared by whoever stops the actor). */
export function createSupervisorActor(options: SupervisorActorOptions): { actor: SupervisorActor; timers: GraceTimers } {
  const timers = graceTimers(options.timers, options.graceOver ?? ((user) => actor.send({ type: 'GRACE_EXPIRED', user })), options.now);
  const machine = supervisorMachine.provide({
    actions: { record: (_, params) => options.record(params.event), ...timers.actions },
  });
  const actor: SupervisorActor = createActor(machine, {
    systemId: SUPERVISOR_SYSTEM_ID,
    input: { chat: options.chat, graceMs: options.graceMs, shardSize: options.shardSize, now: options.now },
    ...(options.snapshot ? { snapshot: options.snapshot } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.inspect ? { inspect: options.inspect } : {}),
  });
  return { actor, timers };
}
