/**
 * @module runtime/cluster-options
 * What a `ClusterRuntime` is built from: the shared log (Redis) with its snapshot store, the node's
 * timings and limits, and what the node does when the log is lost for good.
 */
import type { InspectionEvent } from 'xstate';
import type { Logger } from 'pino';
import type { Log } from '../engine/log.ts';
import type { HistoryLimits } from '../journal/journal.ts';
import type { SnapshotStore } from './cluster-snapshot.ts';
import type { TimerClock } from './grace-timers.ts';

/** What the runtime needs of the Redis log besides the port: start after a snapshot, and keep snapshots. */
export interface SnapshotLog extends Log, SnapshotStore {
  start(after?: string): void;
}

export interface ClusterRuntimeOptions {
  log: SnapshotLog;
  /** A snapshot of the fold is saved (and the log trimmed below it and the history window) every this many entries. */
  snapshotEvery: number;
  graceMs: number;
  shardSize: number;
  /** The liveness TTL: backups propose a grace expiry this long after its owner should have. */
  ttlMs: number;
  history: HistoryLimits;
  logger: Logger;
  now?: () => number;
  clock?: TimerClock;
  inspect?: (event: InspectionEvent) => void;
  /** The log was unreachable for a whole TTL: the node should close its sockets (1012). */
  onLost?: () => void;
}
