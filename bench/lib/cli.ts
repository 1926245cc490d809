/**
 * The command line of `npm run bench`: the flags (`--help`), the sizes they override in the full or quick
 * configuration, and which scenarios, servers and output files a run has.
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FULL, QUICK } from '../config.ts';
import { CLUSTER_SCENARIOS, ENGINE_SCENARIOS, SCENARIO_IDS, type ScenarioId } from '../scenarios/index.ts';
import type { BenchConfig } from './env.ts';
import { TARGETS, type TargetId } from './targets.ts';

const TARGET_IDS = Object.keys(TARGETS) as TargetId[];
const ENGINE_TARGETS: TargetId[] = ['actor-chat', 'actor-chat-redis'];

export const USAGE = `npm run bench -- [flags]
  --quick, --smoke          ~40 s smoke run with small sizes (writes bench/results/quick.*)
  --engine=redis            actor-chat embedded against the same node on Redis (a redis-server per node, AOF on),
                            plus two nodes on one Redis (cluster) and a kill -9 failover (bench/results/redis.*)
  --failover-users=N --cluster-rates=200,400,… --cluster-clients=N  --timeout-s=N (each scenario's time-out)
  --reader-cores=0          cluster: one reader process per entry, pinned to that core, holds the sockets other than
                            the senders and probes (0,0: two on core 0; none: the load generator is one process)
  --reader-nice=10          cluster: the readers' priority below the load generator's (0: the same)
  --scenarios=a,b           subset of ${SCENARIO_IDS.join(',')}
  --servers=a,b             subset of ${TARGET_IDS.join(',')}
  --out=FILE                markdown report (default docs/benchmarks.md; the chart goes next to it as .svg)
  --json=FILE               JSON results (default bench/results/latest.json)
  --storm-sizes=1000,10000,50000   --storm-all-sizes=1000,5000
  --fanout-clients=N --rates=100,200,… --step-ms=N --idle-users=N --churn-cycles=N --resume-clients=N
  --profile                 run actor-chat under --cpu-prof (profiles and their flame graphs in bench/results/profiles/)
  --nice=-10                run servers and load generator at this nice value (on a shared machine)
  --actor-ref=HEAD          run actor-chat from this commit (a clean export) instead of the working tree
  --merge                   keep the other scenarios' results from the existing JSON (re-measure a subset)
  --report-only             rewrite the markdown and chart from the existing JSON, measure nothing
  --actor-flags="--trace-gc"  extra node flags for actor-chat (diagnostics)
  --server-logs=DIR         write each server's whole output to DIR
  --strict                  exit with status 1 when any scenario failed on any server (CI's smoke run)`;

function numbers(value: string | undefined): number[] | undefined {
  return value === undefined ? undefined : value.split(',').map((v) => Number(v.trim())).filter((n) => n > 0);
}

/** `--reader-cores`: core numbers this machine has, or `none` (no reader process). */
function cores(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === 'none') return [];
  const list = value.split(',').map((v) => Number(v.trim()));
  const bad = list.filter((core) => !Number.isInteger(core) || core < 0 || core >= cpus().length);
  if (bad.length > 0 || list.length === 0) throw new Error(`--reader-cores is a list of cores 0–${cpus().length - 1} or none, not ${value}`);
  return list;
}

export interface Cli {
  config: BenchConfig;
  scenarios: ScenarioId[];
  servers: TargetId[];
  out: string;
  json: string;
  profile: boolean;
  nice: number;
  actorRef: string | undefined;
  merge: boolean;
  reportOnly: boolean;
  actorFlags: string[];
  serverLogs: string | undefined;
  strict: boolean;
  engine: 'embedded' | 'redis';
}

export function parseCli(): Cli {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      scenarios: { type: 'string' },
      servers: { type: 'string' },
      out: { type: 'string' },
      json: { type: 'string' },
      'storm-sizes': { type: 'string' },
      'storm-all-sizes': { type: 'string' },
      'fanout-clients': { type: 'string' },
      rates: { type: 'string' },
      'step-ms': { type: 'string' },
      'idle-users': { type: 'string' },
      'churn-cycles': { type: 'string' },
      'resume-clients': { type: 'string' },
      profile: { type: 'boolean', default: false },
      nice: { type: 'string', default: '0' },
      'actor-ref': { type: 'string' },
      merge: { type: 'boolean', default: false },
      'report-only': { type: 'boolean', default: false },
      'actor-flags': { type: 'string' },
      'server-logs': { type: 'string' },
      strict: { type: 'boolean', default: false },
      engine: { type: 'string', default: 'embedded' },
      'failover-users': { type: 'string' },
      'cluster-rates': { type: 'string' },
      'cluster-clients': { type: 'string' },
      'reader-cores': { type: 'string' },
      'reader-nice': { type: 'string' },
      'timeout-s': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const quick = values.quick || values.smoke;
  const engine = values.engine;
  if (engine !== 'embedded' && engine !== 'redis') throw new Error(`--engine is embedded or redis, not ${engine}`);
  const redis = engine === 'redis';
  const base = structuredClone(quick ? QUICK : FULL);
  base.storm.watchSizes = numbers(values['storm-sizes']) ?? base.storm.watchSizes;
  base.storm.allSizes = numbers(values['storm-all-sizes']) ?? base.storm.allSizes;
  base.fanout.clients = numbers(values['fanout-clients'])?.[0] ?? base.fanout.clients;
  base.fanout.rates = numbers(values.rates) ?? base.fanout.rates;
  base.fanout.stepMs = numbers(values['step-ms'])?.[0] ?? base.fanout.stepMs;
  base.idle.users = numbers(values['idle-users'])?.[0] ?? base.idle.users;
  base.churn.cycles = numbers(values['churn-cycles'])?.[0] ?? base.churn.cycles;
  base.resume.clients = numbers(values['resume-clients'])?.[0] ?? base.resume.clients;
  base.failover.users = numbers(values['failover-users'])?.[0] ?? base.failover.users;
  base.cluster.rates = numbers(values['cluster-rates']) ?? base.cluster.rates;
  base.cluster.clients = numbers(values['cluster-clients'])?.[0] ?? base.cluster.clients;
  base.cluster.stepMs = numbers(values['step-ms'])?.[0] ?? base.cluster.stepMs;
  base.cluster.readerCores = cores(values['reader-cores']) ?? base.cluster.readerCores;
  if (values['reader-nice'] !== undefined) {
    const nice = Number(values['reader-nice']);
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new Error(`--reader-nice is 0–19, not ${values['reader-nice']}`);
    base.cluster.readerNice = nice;
  }
  base.scenarioTimeoutMs = (numbers(values['timeout-s'])?.[0] ?? base.scenarioTimeoutMs / 1000) * 1000;
  const pick = <T extends string>(value: string | undefined, all: readonly T[], what: string, byDefault: readonly T[]): T[] => {
    if (value === undefined) return [...byDefault];
    const chosen = value.split(',').map((v) => v.trim()) as T[];
    const unknown = chosen.filter((v) => !all.includes(v));
    if (unknown.length > 0) throw new Error(`unknown ${what}: ${unknown.join(', ')} (known: ${all.join(', ')})`);
    return chosen;
  };
  return {
    config: base,
    scenarios: pick(values.scenarios, SCENARIO_IDS, 'scenario', redis ? ENGINE_SCENARIOS : SCENARIO_IDS.filter((id) => !CLUSTER_SCENARIOS.includes(id))),
    servers: pick(values.servers, TARGET_IDS, 'server', redis ? ENGINE_TARGETS : TARGET_IDS.filter((id) => TARGETS[id].engine === undefined)),
    out: resolve(values.out ?? (redis ? `bench/results/redis${quick ? '-quick' : ''}.md` : quick ? 'bench/results/quick.md' : 'docs/benchmarks.md')),
    json: resolve(values.json ?? (redis ? `bench/results/redis${quick ? '-quick' : ''}.json` : quick ? 'bench/results/quick.json' : 'bench/results/latest.json')),
    profile: values.profile,
    nice: Number(values.nice),
    actorRef: values['actor-ref'],
    merge: values.merge,
    reportOnly: values['report-only'],
    actorFlags: (values['actor-flags'] ?? '').split(' ').filter((flag) => flag !== ''),
    serverLogs: values['server-logs'] === undefined ? undefined : resolve(values['server-logs']),
    strict: values.strict,
    engine,
  };
}
