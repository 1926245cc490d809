/**
 * What a scenario gets from the runner: the target, a way to start a fresh server of it (pinned,
 * tracked, stopped by the runner), the scope to register sockets in, sizes, and a progress logger.
 */
import type { Scope } from './clients.ts';
import type { ServerProc } from './proc.ts';
import type { RedisServer } from './redis-engine.ts';
import type { PresenceMode, Target } from './targets.ts';

export interface BenchConfig {
  quick: boolean;
  fanout: { clients: number; senders: number; probes: number; rates: number[]; stepMs: number; p99LimitMs: number };
  idle: { users: number; presence: PresenceMode };
  churn: { cycles: number; concurrency: number; /** cycles run first and not measured, so that JIT compilation stays out */ warmup: number };
  storm: { watchSizes: number[]; allSizes: number[]; loginConcurrency: number; connectConcurrency: number };
  resume: { clients: number; missed: number };
  /**
   * two nodes on one Redis (`--engine=redis`): clients split, a short ramp, then 80 % of its max; the sockets
   * other than senders and probes are held by one reader process per `readerCores` entry, pinned to that core, at
   * `readerNice` below the load generator's priority
   */
  cluster: {
    clients: number;
    senders: number;
    probes: number;
    rates: number[];
    stepMs: number;
    p99LimitMs: number;
    readerCores: number[];
    readerNice: number;
  };
  /** kill -9 of the node holding `users`; they reconnect to the other with `after=` and `missed` messages to catch up */
  failover: { users: number; missed: number; timeoutMs: number };
  scenarioTimeoutMs: number;
}

export interface ScenarioEnv {
  target: Target;
  scope: Scope;
  config: BenchConfig;
  /**
   * starts a fresh server; `overrides` adds environment variables (actor-chat configuration). A target on
   * the Redis engine gets a redis-server of its own, or joins `redis` when given (several nodes, one chat).
   */
  start(presence: PresenceMode, overrides?: Record<string, string>, redis?: RedisServer): Promise<ServerProc>;
  /** a redis-server for several nodes of this scenario (stopped by the runner after it) */
  startRedis(): Promise<RedisServer>;
  log(message: string): void;
  /** a remark that belongs in the report next to this scenario's numbers */
  warn(message: string): void;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
