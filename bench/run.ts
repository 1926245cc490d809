/**
 * `npm run bench`: runs the scenarios against bare uWebSockets.js, Socket.IO 4.8 and actor-chat,
 * each server a child process pinned to core 1 while this process (the load generator) is pinned to
 * core 0 (the cluster scenario's reader processes: `--reader-cores`), then writes the table
 * (docs/benchmarks.md), the chart (docs/benchmarks.svg) and the JSON (bench/results/latest.json).
 * `--quick` is the ~40-second smoke run; `--help` lists the flags.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseCli } from './lib/cli.ts';
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
import { type BenchResults, failures, mergePrevious, type RunResult } from './lib/results.ts';
import { actorVersion, exportCommit, ROOT } from './lib/source.ts';
import { TARGETS, type TargetId } from './lib/targets.ts';
import { writeReport } from './report.ts';
import { writeEngineReport } from './report-engine.ts';
import { CLUSTER_SCENARIOS, SCENARIO_BUDGETS, SCENARIOS, type ScenarioId } from './scenarios/index.ts';

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
  const timeoutMs = Math.max(config.scenarioTimeoutMs, SCENARIO_BUDGETS[scenario]?.(config) ?? 0);
  const work = SCENARIOS[scenario](env);
  work.catch(() => undefined); // its outcome is read through the race below
  try {
    const result = await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
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
      cpus: cpus().map((c) => c.model)[0],
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

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
