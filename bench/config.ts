/**
 * Benchmark sizes: the full run (the numbers, ≲ 10 minutes on a 2-core machine) and the
 * quick smoke run for CI (~40 s), each overridable from the command line.
 */
import type { BenchConfig } from './lib/env.ts';

export const FULL: BenchConfig = {
  quick: false,
  fanout: {
    clients: 500,
    senders: 10,
    probes: 10,
    rates: [100, 200, 400, 800, 1200, 1600, 2400, 3200, 4000, 4800, 5600, 6400, 8000, 10000],
    stepMs: 2000,
    p99LimitMs: 200,
  },
  idle: { users: 5000, presence: 'all' },
  churn: { cycles: 2000, concurrency: 8, warmup: 3000 },
  storm: { watchSizes: [1000, 10000, 50000], allSizes: [1000, 5000], loginConcurrency: 32, connectConcurrency: 256 },
  resume: { clients: 1000, missed: 100 },
  cluster: { clients: 500, senders: 10, probes: 10, rates: [200, 400, 800, 1200, 1600, 2000, 2400, 3200], stepMs: 2000, p99LimitMs: 200, readerCores: [0], readerNice: 10 },
  failover: { users: 5000, missed: 20, timeoutMs: 120_000 },
  scenarioTimeoutMs: 480_000, // generous: waiting for a busy shared machine to calm down counts too
};

export const QUICK: BenchConfig = {
  quick: true,
  fanout: { clients: 100, senders: 4, probes: 5, rates: [1000, 8000], stepMs: 300, p99LimitMs: 200 },
  idle: { users: 200, presence: 'all' },
  churn: { cycles: 100, concurrency: 8, warmup: 20 },
  storm: { watchSizes: [500], allSizes: [], loginConcurrency: 16, connectConcurrency: 128 },
  resume: { clients: 100, missed: 20 },
  cluster: { clients: 60, senders: 4, probes: 4, rates: [200, 1000], stepMs: 300, p99LimitMs: 200, readerCores: [0], readerNice: 10 },
  failover: { users: 200, missed: 5, timeoutMs: 25_000 },
  scenarioTimeoutMs: 30_000,
};
