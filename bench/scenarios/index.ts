/**
 * The scenarios `npm run bench` knows, by id, and which of them need several nodes on one Redis.
 */
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
