/**
 * @module engine/engine-stats
 * What a node's engine reports to operators (read by `src/metrics.ts`): its state, appends by
 * verdict, engine errors by kind, nodes declared down, and how far this node is behind the log.
 * The RedisLog counts them (engine/redis/counters.ts); an embedded node has no engine stats.
 */
import type { LogState } from './log.ts';

export type EngineErrorKind =
  /** A connect attempt failed or timed out. */
  | 'connect'
  /** An open connection broke (error, end, a command's transport failure). */
  | 'link'
  /** The watchdog dropped the connection: a heartbeat or tail read unanswered too long. */
  | 'stall'
  /** The append script answered an error (NOSCRIPT after a SCRIPT FLUSH, or worse). */
  | 'script'
  /** An entry of the log could not be read: the tail stops there. */
  | 'unreadable_entry'
  /** The log had rolled back and this node fenced it. */
  | 'rollback'
  /** Another node declared this node down (its `NodeDown` read from the log). */
  | 'declared_down'
  /** The log was trimmed past entries this node had not read: its copy has a hole, it stops (`lost`). */
  | 'trimmed';

export const ENGINE_ERROR_KINDS: readonly EngineErrorKind[] = ['connect', 'link', 'stall', 'script', 'unreadable_entry', 'rollback', 'declared_down', 'trimmed'];

export interface EngineStats {
  state: LogState;
  /** Appends answered, by verdict (a retry of the same origin counts again). */
  appends: { committed: number; refused: number; unavailable: number };
  errors: Record<EngineErrorKind, number>;
  /** `NodeDown` entries read from the log: proposed by this node, or by another. */
  declaredDown: { byThisNode: number; byOthers: number };
  /** Entries in the log this node had not applied at the last poll; `NaN` while unknown. */
  lagEntries: number;
  /** Seconds since this node saw a log top it has not applied yet; 0 when caught up. */
  lagSeconds: number;
  /** The last entry this node applied, and the log's top at the last poll. */
  appliedId: string;
  topId: string;
}
