/**
 * `npm run bench`: runs the scenarios against bare uWebSockets.js, Socket.IO 4.8 and actor-chat,
 * each server a child process pinned to core 1 while this process (the load generator) is pinned to
 * core 0, then writes the table (docs/benchmarks.md), the chart (docs/benchmarks.svg) and the JSON
 * (bench/results/latest.json). `--quick` is the ~40-second smoke run; `--help` lists the flags.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FULL, QUICK } from './config.ts';
import { retag, Scope } from './lib/clients.ts';
import { renderFlameGraph } from './lib/flamegraph.ts';
import type { BenchConfig, ScenarioEnv } from './lib/env.ts';
import {
  freePort,
  hasCommand,
  installCleanup,
  pinToCore,
  raiseFileLimit,
  renice,
  type ServerProc,
  startServer,
} from './lib/proc.ts';
import { readProfile } from './lib/profile.ts';
import { engineEnv, type RedisServer, startRedis as startRedisServer, stopRedis } from './lib/redis-engine.ts';
import { waitForQuiet } from './lib/quiet.ts';
import { TARGETS, type TargetId } from './lib/targets.ts';
import { writeReport } from './report.ts';
import { writeEngineReport } from './report-engine.ts';
import { churn } from './scenarios/churn.ts';
import { cluster } from './scenarios/cluster.ts';
import { failover } from './scenarios/failover.ts';
import { fanout } from './scenarios/fanout.ts';
import { idle } from './scenarios/idle.ts';
import { resume } from './scenarios/resume.ts';
import { storm } from './scenarios/storm.ts';

const SCENARIOS = { fanout, idle, churn, storm, resume, cluster, failover } as const;
export type ScenarioId = keyof typeof SCENARIOS;
const SCENARIO_IDS = Object.keys(SCENARIOS) as ScenarioId[];
const TARGET_IDS = Object.keys(TARGETS) as TargetId[];
/** Several nodes on one Redis: only with `--engine=redis`, only on the Redis target. */
const CLUSTER_SCENARIOS: ScenarioId[] = ['cluster', 'failover'];
/** What `--engine=redis` runs by default: the embedded node and the same node on Redis, in one run. */
const ENGINE_SCENARIOS: ScenarioId[] = ['fanout', 'churn', 'storm', ...CLUSTER_SCENARIOS];
const ENGINE_TARGETS: TargetId[] = ['actor-chat', 'actor-chat-redis'];
const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const USAGE = `npm run bench -- [flags]
  --quick, --smoke          ~40 s smoke run with small sizes (writes bench/results/quick.*)
  --engine=redis            actor-chat embedded against the same node on Redis (a redis-server per node, AOF on),
                            plus two nodes on one Redis (cluster) and a kill -9 failover (bench/results/redis.*)
  --failover-users=N --cluster-rates=200,400,… --cluster-clients=N  --timeout-s=N (each scenario's time-out)
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

export interface RunResult {
  error?: string;
  [key: string]: unknown;
}

export interface BenchResults {
  meta: Record<string, unknown>;
  config: BenchConfig;
  servers: TargetId[];
  results: Partial<Record<ScenarioId, Partial<Record<TargetId, RunResult>>>>;
}

function numbers(value: string | undefined): number[] | undefined {
  return value === undefined ? undefined : value.split(',').map((v) => Number(v.trim())).filter((n) => n > 0);
}

interface Cli {
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

function parseCli(): Cli {
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

/**
 * Exports a commit (tracked files only) to a temporary directory with node_modules linked in, so the
 * benchmark measures committed code even while the working tree is being edited.
 */
function exportCommit(ref: string): string {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: ROOT }).toString().trim();
  const dir = resolve(tmpdir(), 'actor-chat-bench', sha.slice(0, 12));
  if (!existsSync(resolve(dir, 'src/main.ts'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('bash', ['-c', `git archive ${sha} | tar -x -C '${dir}'`], { cwd: ROOT });
  }
  if (!existsSync(resolve(dir, 'node_modules'))) symlinkSync(resolve(ROOT, 'node_modules'), resolve(dir, 'node_modules'));
  return dir;
}

function actorVersion(ref: string | undefined): string {
  const sha = execFileSync('git', ['rev-parse', '--short=12', ref ?? 'HEAD'], { cwd: ROOT }).toString().trim();
  if (ref !== undefined) return `${sha} (export of ${ref})`;
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT }).toString().trim() !== '';
  return `${sha}${dirty ? ' + uncommitted changes in src/' : ''} (working tree)`;
}

/** Carries over the scenarios not run now from an earlier JSON (same sizes assumed), with their dates. */
function mergePrevious(results: BenchResults, jsonPath: string, rerun: ScenarioId[]): void {
  if (!existsSync(jsonPath)) return;
  const previous = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResults;
  const previousDates = (previous.meta.measuredAt ?? {}) as Record<string, string>;
  const measuredAt = results.meta.measuredAt as Record<string, string>;
  for (const scenario of Object.keys(previous.results) as ScenarioId[]) {
    if (rerun.includes(scenario)) continue;
    results.results[scenario] = previous.results[scenario];
    measuredAt[scenario] = previousDates[scenario] ?? String(previous.meta.date);
  }
  const notes = results.meta.notes as string[];
  for (const note of (previous.meta.notes ?? []) as string[]) if (!notes.includes(note)) notes.push(note);
  results.meta.merged = true;
}

const startedAt = Date.now();
function log(message: string): void {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(6);
  console.log(`[${seconds}s] ${message}`);
}

/** Diagnostics settings from the command line, read by runOne. */
const diagnostics: { actorFlags: string[]; serverLogs: string | undefined } = { actorFlags: [], serverLogs: undefined };
let serverCount = 0;

async function runOne(
  scenario: ScenarioId,
  targetId: TargetId,
  config: BenchConfig,
  profileDir: string | undefined,
  nice: number,
  actorDir: string | undefined,
): Promise<RunResult> {
  const target = TARGETS[targetId];
  const scope = new Scope();
  const servers: ServerProc[] = [];
  const warnings: string[] = [];
  const redises: RedisServer[] = [];
  const startRedis = async (): Promise<RedisServer> => {
    const redis = await startRedisServer();
    redises.push(redis);
    return redis;
  };
  const env: ScenarioEnv = {
    startRedis,
    target,
    scope,
    config,
    log: (message) => log(`  ${scenario}/${targetId}: ${message}`),
    warn: (message) => {
      warnings.push(message);
      log(`  ${scenario}/${targetId}: warning: ${message}`);
    },
    start: async (presence, overrides = {}, shared) => {
      if (scope.aborted) throw new Error('scenario aborted');
      // A node on the Redis engine: its own redis-server (stopped with it), or the scenario's shared one.
      const redis = target.engine === 'redis' ? (shared ?? (await startRedis())) : undefined;
      const port = await freePort();
      // actor-chat serves /metrics on its own loopback listener (CHAT_METRICS_PORT), not on the public port.
      const metricsPort = target.actor ? await freePort() : undefined;
      const server = await startServer({
        name: targetId,
        args:
          target.actor
            ? [...diagnostics.actorFlags, ...target.nodeArgs(profileDir)]
            : target.nodeArgs(undefined),
        env: {
          ...target.env(port, presence),
          ...(metricsPort === undefined ? {} : { CHAT_METRICS_PORT: String(metricsPort) }),
          ...(redis === undefined ? {} : engineEnv(redis)),
          ...(target.actor ? overrides : {}),
        },
        port,
        readyPath: target.readyPath,
        core: 1,
        startTimeoutMs: 30_000,
        nice,
        cwd: target.actor ? actorDir : undefined,
        gracefulStop: profileDir !== undefined && target.actor,
        logFile:
          diagnostics.serverLogs === undefined
            ? undefined
            : resolve(diagnostics.serverLogs, `${String(++serverCount).padStart(2, '0')}-${scenario}-${targetId}.log`),
      });
      if (metricsPort !== undefined) server.metricsPort = metricsPort;
      if (redis !== undefined && shared === undefined) {
        server.redisPid = redis.pid;
        const stop = server.stop.bind(server);
        server.stop = async (graceful) => {
          await stop(graceful);
          await stopRedis(redis);
        };
      } else if (redis !== undefined) {
        server.redisPid = redis.pid;
      }
      servers.push(server);
      return server;
    },
  };
  retag();
  const loadBefore = loadavg()[0] as number;
  const busyBefore = await waitForQuiet(25, config.quick ? 1000 : 60_000, env.log);
  if (busyBefore > 25) warnings.push(`machine ${busyBefore}% busy with other work when this started`);
  let timer: NodeJS.Timeout | undefined;
  const work = SCENARIOS[scenario](env);
  work.catch(() => undefined); // its outcome is read through the race below
  try {
    const result = await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${config.scenarioTimeoutMs} ms`)), config.scenarioTimeoutMs);
      }),
    ]);
    const loadAvg1m = [loadBefore, loadavg()[0] as number].map((load) => Math.round(load * 100) / 100);
    return { ...(result as unknown as RunResult), loadAvg1m, ...(warnings.length > 0 ? { warnings } : {}) };
  } catch (error) {
    const message = (error as Error).message;
    const tails = servers.map((s) => (s.exited() ? `\n${s.name} exited:\n${s.tail()}` : '')).join('');
    log(`  ${scenario}/${targetId}: FAILED ${message}${tails}`);
    return { error: message, ...(warnings.length > 0 ? { warnings } : {}) };
  } finally {
    clearTimeout(timer);
    scope.dispose();
    for (const server of servers) await server.stop();
    for (const redis of redises) await stopRedis(redis);
  }
}

async function main(): Promise<void> {
  const cli = parseCli();
  process.chdir(ROOT);
  diagnostics.actorFlags = cli.actorFlags;
  diagnostics.serverLogs = cli.serverLogs;
  if (cli.serverLogs !== undefined) mkdirSync(cli.serverLogs, { recursive: true });
  if (cli.reportOnly) {
    const previous = JSON.parse(readFileSync(cli.json, 'utf8')) as BenchResults;
    if (cli.engine === 'redis') writeEngineReport(previous, cli.out);
    else await writeReport(previous, cli.out, cli.json);
    log(`wrote ${cli.out} and its chart from ${cli.json}`);
    return;
  }
  if (!hasCommand('taskset')) throw new Error('taskset (util-linux) is required to pin server and load generator');
  installCleanup();
  const limit = raiseFileLimit(process.pid, 200_000);
  const notes: string[] = [];
  const maxSockets = limit - 1000; // each socket is a descriptor on both sides; room for 500 warm-up users and the rest
  const capped = (sizes: number[]): number[] => [...new Set(sizes.map((n) => Math.min(n, maxSockets)))];
  const { storm, idle } = cli.config;
  if ([...storm.watchSizes, ...storm.allSizes, idle.users].some((n) => n > maxSockets)) {
    const note =
      `the open-files hard limit here is ${limit} and cannot be raised (no CAP_SYS_RESOURCE), so no process ` +
      `can hold more than ~${maxSockets} sockets: sizes above that were capped to ${maxSockets}`;
    notes.push(note);
    log(`note: ${note}`);
    storm.watchSizes = capped(storm.watchSizes);
    storm.allSizes = capped(storm.allSizes);
    idle.users = Math.min(idle.users, maxSockets);
  }
  pinToCore(process.pid, 0);
  if (cli.nice !== 0 && !renice(process.pid, cli.nice)) {
    notes.push(`could not renice to ${cli.nice}: ran at normal priority`);
    cli.nice = 0;
  }
  let servers = cli.servers;
  const actorDir = cli.actorRef === undefined ? undefined : exportCommit(cli.actorRef);
  if (actorDir !== undefined) log(`actor-chat: running the export of ${cli.actorRef} in ${actorDir}`);
  if (servers.some((s) => TARGETS[s].actor) && !existsSync(resolve(actorDir ?? ROOT, 'src/main.ts'))) {
    log('actor-chat: src/main.ts does not exist yet, skipping it');
    servers = servers.filter((s) => !TARGETS[s].actor);
  }
  const profileDir = cli.profile ? resolve('bench/results/profiles') : undefined;
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const profilesBefore = new Set(profileDir === undefined ? [] : readdirSync(profileDir));
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: (await import('node:os')).cpus().map((c) => c.model)[0],
      quick: cli.config.quick,
      pinning: 'servers on core 1, load generator on core 0 (taskset)',
      openFilesLimit: limit,
      loadAvg: loadavg().map((load) => Math.round(load * 100) / 100),
      engine: cli.engine,
      nice: cli.nice,
      actorChat: actorVersion(cli.actorRef),
      notes,
    },
    config: cli.config,
    servers,
    results: {},
  };
  log(`bench ${cli.config.quick ? '(quick)' : '(full)'}: ${cli.scenarios.join(', ')} on ${servers.join(', ')}`);
  const measuredAt: Record<string, string> = {};
  results.meta.measuredAt = measuredAt;
  if (cli.merge) mergePrevious(results, cli.json, cli.scenarios);
  for (const scenario of cli.scenarios) {
    const byTarget: Partial<Record<TargetId, RunResult>> = {};
    results.results[scenario] = byTarget;
    measuredAt[scenario] = new Date().toISOString();
    for (const targetId of servers) {
      if (CLUSTER_SCENARIOS.includes(scenario) && TARGETS[targetId].engine !== 'redis') continue;
      log(`${scenario} / ${targetId}`);
      byTarget[targetId] = await runOne(scenario, targetId, cli.config, profileDir, cli.nice, actorDir);
    }
  }
  results.meta.seconds = Math.round((Date.now() - startedAt) / 1000);
  mkdirSync(dirname(cli.json), { recursive: true });
  writeFileSync(cli.json, `${JSON.stringify(results, null, 2)}\n`);
  if (cli.engine === 'redis') writeEngineReport(results, cli.out);
  else await writeReport(results, cli.out, cli.json);
  log(`wrote ${cli.out}${cli.engine === 'redis' ? '' : `, ${cli.out.replace(/\.md$/, '.svg')}`} and ${cli.json}`);
  if (profileDir !== undefined) await drawFlameGraphs(profileDir, profilesBefore);
  const failed = failures(results);
  if (cli.strict && failed.length > 0) {
    console.error(`failed: ${failed.join('; ')}`);
    process.exitCode = 1;
  }
}

/** A flame graph (SVG) next to each profile this run wrote. */
async function drawFlameGraphs(dir: string, before: Set<string>): Promise<void> {
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile') && !before.has(name))) {
    const svg = await renderFlameGraph(readProfile(resolve(dir, file)), { title: `actor-chat, ${file}: busy time` });
    const target = resolve(dir, file.replace(/\.cpuprofile$/, '.svg'));
    writeFileSync(target, svg);
    log(`wrote ${target}`);
  }
}

/** "scenario / server: error" for every run that did not complete. */
function failures(results: BenchResults): string[] {
  return Object.entries(results.results).flatMap(([scenario, byTarget]) =>
    Object.entries(byTarget ?? {})
      .filter(([, result]) => result?.error !== undefined)
      .map(([target, result]) => `${scenario} / ${target}: ${result?.error}`),
  );
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
