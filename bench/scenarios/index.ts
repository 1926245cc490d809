/**
 * The scenarios `npm run bench` knows, by id, which of them need several nodes on one Redis, and the
 * time-out of those whose length grows with their options.
 */
import type { BenchConfig } from '../lib/env.ts';
import { rampBudgetMs } from '../lib/steps.ts';
import { churn } from './churn.ts';
import { cluster } from './cluster.ts';
import { failover } from './failover.ts';
import { fanout } from './fanout.ts';
import { idle } from './idle.ts';
import { resume } from './resume.ts';
import { storm } from './storm.ts';

export const SCENARIOS = { fanout, idle, churn, storm, resume, cluster, failover } as const;
export type ScenarioId = keyof typeof SCENARIOS;
export const SCENARIO_IDS = Object.keys(SCENARIOS) as ScenarioId[];
/** Several nodes on one Redis: only with `--engine=redis`, only on the Redis target. */
export const CLUSTER_SCENARIOS: ScenarioId[] = ['cluster', 'failover'];
/** What `--engine=redis` runs by default: the embedded node and the same node on Redis, in one run. */
export const ENGINE_SCENARIOS: ScenarioId[] = ['fanout', 'churn', 'storm', ...CLUSTER_SCENARIOS];

/**
 * Scenarios whose length grows with options the time-out does not know (`--cluster-rates`, `--step-ms`): the
 * runner waits at least this long (the two-node ramp at 500 clients and 2 s steps outlasts the quick 30 s).
 */
export const SCENARIO_BUDGETS: Partial<Record<ScenarioId, (config: BenchConfig) => number>> = {
  cluster: (config) => rampBudgetMs(config, config.cluster, 1, 30_000),
};
