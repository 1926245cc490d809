/**
 * (c) Churn: N cycles of login → connect (until the welcome) → disconnect (close frame, until the
 * server closed), a few in parallel. Server CPU time over the cycles, plus the tail of work the
 * server still does after the last one (until its CPU clock stops moving), divided by N.
 */
import { connect, login, mapLimit, userNames } from '../lib/clients.ts';
import { round, type ScenarioEnv } from '../lib/env.ts';
import { cpuMicros, sleep } from '../lib/proc.ts';
import { NoiseMeter } from '../lib/quiet.ts';
import { redisMicros } from '../lib/redis-engine.ts';

const GRACE_MS = 100;

export interface ChurnResult {
  cycles: number;
  concurrency: number;
  serverUsPerCycle: number;
  wallUsPerCycle: number;
  graceMs?: number;
  /** on the Redis engine: redis-server's CPU per cycle (login, attach, detach, grace expiry: four appends) */
  redisUsPerCycle?: number;
  otherCpuPct: number;
}

async function settle(pid: number, maxMs: number): Promise<void> {
  let last = cpuMicros(pid);
  const deadline = Date.now() + maxMs;
  let quiet = 0;
  while (Date.now() < deadline && quiet < 2) {
    await sleep(250);
    const now = cpuMicros(pid);
    quiet = now - last <= 10_000 ? quiet + 1 : 0; // at most one 10 ms tick in 250 ms: idle
    last = now;
  }
}

export async function churn(env: ScenarioEnv): Promise<ChurnResult> {
  const { cycles, concurrency } = env.config.churn;
  // A short grace period, so the user's whole lifecycle (grace → offline) falls inside the window.
  const server = await env.start('all', { CHAT_GRACE_MS: String(GRACE_MS) });
  const pool = env.scope.pool(server, concurrency);
  const cycle = async (name: string, index: number): Promise<void> => {
    const token = await login(pool, name);
    const ws = await connect(env.scope, env.target, server, token, index);
    await ws.close();
  };
  // Warm-up cycles first: optimising compilation of the hot paths (on V8's worker threads, counted in
  // the process's CPU time) would otherwise land inside the measured window.
  await mapLimit(env.scope, userNames('w', env.config.churn.warmup), concurrency, cycle);
  await settle(server.pid, 3000);
  const cpu0 = cpuMicros(server.pid);
  const redis0 = redisMicros(server);
  const noise = new NoiseMeter(server.pid, server.redisPid);
  const started = performance.now();
  await mapLimit(env.scope, userNames('c', cycles), concurrency, cycle);
  const wallUs = (performance.now() - started) * 1000;
  const otherCpuPct = noise.otherPct();
  await settle(server.pid, 5000);
  const cpuUs = cpuMicros(server.pid) - cpu0;
  const redisUs = redisMicros(server) - redis0;
  return {
    cycles,
    concurrency,
    serverUsPerCycle: round(cpuUs / cycles, 1),
    wallUsPerCycle: round(wallUs / cycles, 1),
    ...(env.target.actor ? { graceMs: GRACE_MS } : {}),
    ...(server.redisPid === undefined ? {} : { redisUsPerCycle: round(redisUs / cycles, 1) }),
    otherCpuPct,
  };
}
