/**
 * The report of `npm run bench -- --engine=redis`: actor-chat on Redis against the same node embedded,
 * measured in the same run, as ratios against issue 15's targets (CPU per delivered message ≤ 1.25× at
 * the same rate, login + connect ≤ 1.5×), then two nodes on one Redis and the failover storm.
 */
import { writeFileSync } from 'node:fs';
import type { RunResult, BenchResults } from './lib/results.ts';
import { GENERATOR_BUSY_PCT } from './lib/steps.ts';
import type { ChurnResult } from './scenarios/churn.ts';
import type { ClusterResult, ClusterStep } from './scenarios/cluster.ts';
import type { FailoverResult } from './scenarios/failover.ts';
import type { FanoutResult, FanoutStep } from './scenarios/fanout.ts';
import type { StormResult } from './scenarios/storm.ts';

type Pair<T> = { embedded: (T & RunResult) | undefined; redis: (T & RunResult) | undefined };

function pair<T>(results: BenchResults, scenario: keyof BenchResults['results']): Pair<T> {
  const by = results.results[scenario] ?? {};
  const ok = (r: RunResult | undefined): (T & RunResult) | undefined => (r === undefined || r.error !== undefined ? undefined : (r as T & RunResult));
  return { embedded: ok(by['actor-chat']), redis: ok(by['actor-chat-redis']) };
}

const n = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v.toPrecision(digits)).toLocaleString('en-US');
const load = (r: RunResult | undefined): string => (Array.isArray(r?.loadAvg1m) ? (r.loadAvg1m as number[]).join(' → ') : '—');

/** A ratio row: value on Redis ÷ embedded against a ceiling. */
function ratioRow(what: string, embedded: number | undefined, redis: number | undefined, ceiling: number, extra = ''): string {
  const ratio = embedded === undefined || redis === undefined || embedded <= 0 ? undefined : redis / embedded;
  const met = ratio === undefined ? '—' : ratio <= ceiling ? 'yes' : '**no**';
  return `| ${what} | ${n(embedded)} | ${n(redis)} | ${n(ratio)}× | ≤ ${ceiling}× | ${met} | ${extra} |`;
}

/**
 * The highest rate clean on both servers, with both steps there; on a busy shared machine, where a step may
 * fail on latency alone, the highest rate where both delivered every message (CPU per delivery stays comparable).
 */
function sameRate(a: FanoutResult, b: FanoutResult): { rate: number; a: FanoutStep; b: FanoutStep; clean: boolean } | undefined {
  const both = (ok: (step: FanoutStep) => boolean): { rate: number; a: FanoutStep; b: FanoutStep; clean: boolean } | undefined => {
    let best: { rate: number; a: FanoutStep; b: FanoutStep; clean: boolean } | undefined;
    for (const stepA of [...a.steps, ...(a.at80 ? [a.at80] : [])]) {
      const stepB = [...b.steps, ...(b.at80 ? [b.at80] : [])].find((s) => s.rate === stepA.rate && ok(s));
      if (ok(stepA) && stepB !== undefined && (best === undefined || stepA.rate > best.rate)) best = { rate: stepA.rate, a: stepA, b: stepB, clean: stepA.clean && stepB.clean };
    }
    return best;
  };
  return both((step) => step.clean) ?? both((step) => step.loss === 0 && step.errors === 0);
}

function comparison(results: BenchResults): string[] {
  const lines = ['| measure | embedded | on Redis | Redis ÷ embedded | target | met | Redis CPU, load average (1 min, start → end) |', '| --- | ---: | ---: | ---: | --- | --- | --- |'];
  const f = pair<FanoutResult>(results, 'fanout');
  if (f.embedded && f.redis) {
    const at = sameRate(f.embedded, f.redis);
    lines.push(`| fan-out: max clean rate, msg/s (${f.embedded.clients} clients) | ${n(f.embedded.maxCleanRate)} | ${n(f.redis.maxCleanRate)} | ${n(f.redis.maxCleanRate / f.embedded.maxCleanRate)}× | | | load ${load(f.embedded)} / ${load(f.redis)} |`);
    if (at) {
      const how = at.clean ? 'both clean' : 'both lost nothing; p99 over the limit on a busy machine';
      lines.push(ratioRow(`fan-out: node CPU per delivered message at ${n(at.rate)} msg/s (${how}), µs`, at.a.usPerDelivery, at.b.usPerDelivery, 1.25, `Redis ${n(at.b.redisUsPerMessage)} µs per message; others ${at.a.otherCpuPct} % / ${at.b.otherCpuPct} % of a core`));
    }
  }
  const c = pair<ChurnResult>(results, 'churn');
  if (c.embedded && c.redis) {
    lines.push(ratioRow(`churn: node CPU per login + connect + disconnect, µs (${c.embedded.cycles} cycles)`, c.embedded.serverUsPerCycle, c.redis.serverUsPerCycle, 1.5, `Redis ${n(c.redis.redisUsPerCycle)} µs per cycle; load ${load(c.embedded)} / ${load(c.redis)}`));
    lines.push(ratioRow('churn: wall time per cycle, µs', c.embedded.wallUsPerCycle, c.redis.wallUsPerCycle, 1.5));
  }
  const s = pair<StormResult>(results, 'storm');
  if (s.embedded && s.redis) {
    for (const kind of ['watch', 'all'] as const) {
      for (const point of s.embedded[kind]) {
        const other = s.redis[kind].find((p) => p.users === point.users);
        if (!other) continue;
        lines.push(ratioRow(`login storm (${kind}), ${n(point.users)} users: node CPU per login + connect, µs`, point.serverUsPerUser, other.serverUsPerUser, 1.5, `Redis ${n(other.redisUsPerUser)} µs per user; load ${load(s.embedded)} / ${load(s.redis)}`));
        lines.push(ratioRow(`login storm (${kind}), ${n(point.users)} users: wall time per user, µs`, point.totalUsPerUser, other.totalUsPerUser, 1.5));
      }
    }
  }
  return lines;
}

/** Each load-generator process's CPU in a step: senders + probes, then each reader (its core); flagged near saturation. */
function generatorCells(step: ClusterStep, readerCores: readonly number[]): string {
  const readers = (step.readerCpuPct ?? []).map((pct, i) => ` + ${pct} % (core ${readerCores[i]})`).join('');
  const busy = [...new Set([0, ...readerCores])]
    .filter((core) => (step.coreCpuPct?.[core] ?? 0) >= GENERATOR_BUSY_PCT)
    .map((core) => `core ${core} at ${step.coreCpuPct?.[core]} %`);
  return `${step.clientCpuPct} % (its loop delay p99 ${n(step.clientLoopP99Ms)} ms)${readers}${step.generatorBusy ? ` — **near saturation**: ${busy.join(', ')}` : ''}`;
}

function clusterLines(result: ClusterResult | undefined, error: string | undefined, r: RunResult | undefined): string[] {
  if (result === undefined) return error === undefined ? [] : [`Two nodes: failed (${error}).`];
  const at80 = result.at80;
  const readerCores = result.readerCores ?? [];
  const split =
    readerCores.length === 0
      ? 'the load generator one process on core 0'
      : `the load generator split: senders and probes (${result.timingSockets} sockets) in one process on core 0, ` +
        `the other sockets in ${readerCores.length} reader process${readerCores.length === 1 ? '' : 'es'} on core ${readerCores.join(', ')}` +
        (result.readerNice ? ` at nice +${result.readerNice}` : '');
  const busy = at80?.generatorBusy === true ? ', with a core of the load generator near saturation: part of that latency is the generator\'s own' : '';
  const lines = [
    `**Two nodes on one Redis** (${result.clients} clients split across them, ${result.senders} senders on node 1, latency probes on node 2; ${split}; load ${load(r)}): ` +
      (result.maxCleanRate === 0
        ? 'no step was clean (no loss, p99 within the limit), so there is no 80 % step.'
        : `max clean rate ${n(result.maxCleanRate)} msg/s; at 80 % of it (${n(at80?.rate)} msg/s) p99 ${n(at80?.p99Ms)} ms node 1 → node 2 ` +
          `(target ≤ 50 ms: ${at80 === null ? '—' : at80.p99Ms <= 50 ? 'met' : '**not met**'}${busy}).`),
    '',
    '| msg/s | delivered / expected | deliveries/s | p50 / p99 / max ms (node 1 → node 2) | node 1 µs per delivery | node 2 µs per delivery | Redis µs per message | load generator CPU: senders + probes + each reader | others CPU | clean |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const step of [...result.steps, ...(at80 ? [{ ...at80, label: ' (80 %)' }] : [])]) {
    const label = 'label' in step ? step.label : '';
    lines.push(
      `| ${n(step.rate)}${label} | ${n(step.received, 9)} / ${n(step.expected, 9)} | ${n(step.deliveriesPerSec, 6)} | ${n(step.p50Ms)} / ${n(step.p99Ms)} / ${n(step.maxMs)} | ` +
        `${n(step.node1UsPerDelivery)} | ${n(step.node2UsPerDelivery)} | ${n(step.redisUsPerMessage)} | ${generatorCells(step, readerCores)} | ${step.otherCpuPct} % | ${step.clean ? 'yes' : 'no'} |`,
    );
  }
  return lines;
}

function failoverLines(result: FailoverResult | undefined, error: string | undefined, r: RunResult | undefined): string[] {
  if (result === undefined) return error === undefined ? [] : [`Failover storm: failed (${error}).`];
  return [
    `**Failover storm** (${n(result.users, 6)} users on node A of two, kill -9 of A, ${result.missed} messages posted on B at once, every client back on B with \`after=\`; ` +
      `CHAT_NODE_TTL_MS ${result.ttlMs}; load ${load(r)}), times from the kill:`,
    '',
    '| all greeted on B | all caught up (each message exactly once) | A declared down | all listed online on B, A down | most in grace at once | duplicates / failed reconnects | node B CPU / Redis CPU |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${n(result.welcomedMs, 6)} ms | ${n(result.caughtUpMs, 6)} ms | ${n(result.declaredDownMs, 6)} ms | ${n(result.allOnlineMs, 6)} ms | ${n(result.maxGrace, 6)} | ${result.duplicates} / ${result.failed} | ${n(result.nodeBCpuMs, 6)} / ${n(result.redisCpuMs, 6)} ms |`,
  ];
}

export function writeEngineReport(results: BenchResults, out: string): void {
  const meta = results.meta;
  const cluster = results.results.cluster?.['actor-chat-redis'];
  const failover = results.results.failover?.['actor-chat-redis'];
  const lines = [
    '# actor-chat on Redis against embedded (`npm run bench -- --engine=redis`)',
    '',
    `Measured ${String(meta.date)} on ${String(meta.cpus)}, Node ${String(meta.node)}, ${meta.quick ? 'quick sizes' : 'full sizes'}, ` +
      `run time ${String(meta.seconds)} s, actor-chat ${String(meta.actorChat)}; load average at the start ${JSON.stringify(meta.loadAvg)}. ` +
      'Each node is pinned to core 1, the load generator to core 0; redis-server (AOF on, everysec) is not pinned.',
    '',
    ...comparison(results),
    '',
    ...clusterLines(cluster?.error === undefined ? (cluster as ClusterResult | undefined) : undefined, cluster?.error, cluster),
    '',
    ...failoverLines(failover?.error === undefined ? (failover as FailoverResult | undefined) : undefined, failover?.error, failover),
    '',
  ];
  for (const [scenario, by] of Object.entries(results.results)) {
    for (const [target, r] of Object.entries(by ?? {})) {
      if (r?.error !== undefined) lines.push(`- ${scenario} / ${target}: failed: ${r.error}`);
      for (const warning of (r?.warnings ?? []) as string[]) lines.push(`- ${scenario} / ${target}: ${warning}`);
    }
  }
  writeFileSync(out, `${lines.join('\n')}\n`);
}
