/**
 * Micro-benchmark of the Redis engine (src/engine/redis) on loopback, bounded in rate and time:
 * 1. cost: one RedisLog node appends group messages at a fixed rate and tails them; Redis CPU per
 *    append (utime+stime of redis-server) and node CPU per append (this process: append + tail).
 * 2. latency: one node appends at 10k events/s for 5 s while three RedisLog nodes (in this process)
 *    tail; append→tail latency per delivery, p50/p99 over every tailer.
 * `npm run bench:engine [-- --rate=2000 --seconds=4 --latency-rate=10000 --latency-seconds=5]`
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Committed, Verdict } from '../src/engine/log.ts';
import { RedisLog } from '../src/engine/redis/redis-log.ts';
import { RedisServer } from '../test/support/redis.ts';
import { cpuMicros } from './lib/proc.ts';

// Runs with tsx (the project's runner): its loader thread is idle during the measured phases.

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '4' },
    'latency-rate': { type: 'string', default: '10000' },
    'latency-seconds': { type: 'string', default: '5' },
  },
});
const TTL = 3000;
const logger = pino({ level: 'warn' });

function startLog(url: string, tag: string): Promise<RedisLog> {
  const log = new RedisLog({ target: { url }, ttlMs: TTL, tag, logger });
  return new Promise((resolve) => {
    const stop = log.onState((state) => {
      if (state !== 'ready') return;
      stop();
      resolve(log);
    });
    log.start();
  });
}

/** Proposes `rate` messages a second for `seconds`, paced every 5 ms; resolves with how many committed. */
async function drive(log: RedisLog, rate: number, seconds: number, onSent: (req: number, at: number) => void): Promise<number> {
  const total = Math.round(rate * seconds);
  const verdicts: Array<Promise<Verdict>> = [];
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
      while (verdicts.length < due) {
        const { origin, verdict } = log.propose({ type: 'GroupMessagePosted', from: 'bench', text: `m${verdicts.length}`, ts: Date.now() });
        onSent(origin.req, performance.now());
        verdicts.push(verdict);
      }
      if (verdicts.length >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const committed = (await Promise.all(verdicts)).filter((verdict) => verdict.status === 'committed').length;
  if (committed < total) console.error(`bench: ${total - committed} of ${total} appends were not committed (the node fell behind)`);
  return committed;
}

/** Waits until `count` entries arrived, at most 10 s (then reports what is missing). */
function untilCount(entries: () => number, count: number): Promise<void> {
  const deadline = performance.now() + 10_000;
  return new Promise((resolve) => {
    const check = setInterval(() => {
      if (entries() < count && performance.now() < deadline) return;
      if (entries() < count) console.error(`bench: ${count - entries()} entries never arrived`);
      clearInterval(check);
      resolve();
    }, 5);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Redis's own accounting (`INFO commandstats`): µs per call of the append script and of XREAD. */
async function commandStats(log: RedisLog): Promise<{ evalshaUs: number; xreadUs: number }> {
  const info = await log.command<string>(['INFO', 'commandstats']);
  const perCall = (name: string): number => Number(new RegExp(`cmdstat_${name}:.*usec_per_call=([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return { evalshaUs: perCall('evalsha'), xreadUs: perCall('xread') };
}

async function cost(redis: RedisServer, rate: number, seconds: number): Promise<{ appends: number; redisUs: number; nodeUs: number; evalshaUs: number; xreadUs: number }> {
  const log = await startLog(redis.url, 'cost');
  let received = 0;
  log.onCommitted((entries) => (received += entries.length));
  await log.command(['CONFIG', 'RESETSTAT']);
  const redisBefore = cpuMicros(redis.pid!);
  const nodeBefore = process.cpuUsage();
  const appends = await drive(log, rate, seconds, () => undefined);
  await untilCount(() => received, appends);
  const node = process.cpuUsage(nodeBefore);
  const redisUs = cpuMicros(redis.pid!) - redisBefore;
  const stats = await commandStats(log);
  await log.close();
  return { appends, redisUs: redisUs / appends, nodeUs: (node.user + node.system) / appends, ...stats };
}

async function latency(redis: RedisServer, rate: number, seconds: number): Promise<{ samples: number; p50: number; p99: number; max: number; redisUs: number }> {
  const writer = await startLog(redis.url, 'latency');
  const tailers = await Promise.all([1, 2, 3].map(() => startLog(redis.url, 'latency')));
  const sentAt = new Map<number, number>();
  const samples: number[] = [];
  let received = 0;
  for (const tailer of tailers) {
    tailer.onCommitted((entries: readonly Committed[]) => {
      const now = performance.now();
      for (const entry of entries) {
        received += 1;
        const at = entry.origin?.node === writer.node ? sentAt.get(entry.origin.req) : undefined;
        if (at !== undefined) samples.push(now - at);
      }
    });
  }
  const redisBefore = cpuMicros(redis.pid!);
  const appends = await drive(writer, rate, seconds, (req, at) => sentAt.set(req, at));
  await untilCount(() => received, appends * tailers.length);
  const redisUs = (cpuMicros(redis.pid!) - redisBefore) / appends;
  await Promise.all([writer, ...tailers].map((log) => log.close()));
  samples.sort((a, b) => a - b);
  return { samples: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples[samples.length - 1]!, redisUs };
}

const redis = await RedisServer.start();
try {
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const measured = await cost(redis, rate, seconds);
  const latencyRate = Number(values['latency-rate']);
  const latencySeconds = Number(values['latency-seconds']);
  const timing = await latency(redis, latencyRate, latencySeconds);
  const f = (value: number, digits = 1): string => value.toFixed(digits);
  console.log(`## Redis engine (Debian redis-server, loopback, AOF everysec)\n`);
  console.log('| measure | value |\n|---|---|');
  console.log(`| appends at ${rate}/s for ${seconds} s, one node tailing | ${measured.appends} |`);
  console.log(`| Redis CPU per append (redis-server process, all I/O and AOF included) | ${f(measured.redisUs)} µs |`);
  console.log(`| of which the append script (commandstats evalsha) / one XREAD call | ${f(measured.evalshaUs)} / ${f(measured.xreadUs)} µs |`);
  console.log(`| node CPU per append (this process, all threads: append + own tail) | ${f(measured.nodeUs)} µs |`);
  console.log(`| append→tail latency, ${latencyRate}/s for ${latencySeconds} s, 3 tailers: p50 / p99 / max | ${f(timing.p50, 2)} / ${f(timing.p99, 2)} / ${f(timing.max, 2)} ms (${timing.samples} deliveries) |`);
  console.log(`| Redis CPU per append with 3 tailers | ${f(timing.redisUs)} µs |`);
} finally {
  await redis.close();
}
