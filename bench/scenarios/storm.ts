/**
 * (d) Login storm: N fresh users log in and connect as fast as the server lets them, on a fresh
 * server per size. Time per user (wall) and server CPU per user at each size: flat means the cost of
 * adding a user does not grow with the users already there.
 */
import { connectAll, loginAll, userNames, warmUp } from '../lib/clients.ts';
import { round, type ScenarioEnv } from '../lib/env.ts';
import { cpuMicros, rssBytes, sleep } from '../lib/proc.ts';
import { DISTURBED_PCT, NoiseMeter, waitForQuiet } from '../lib/quiet.ts';
import type { PresenceMode } from '../lib/targets.ts';
import { redisMicros } from '../lib/redis-engine.ts';

const WARM_USERS = 500;

export interface StormPoint {
  users: number;
  presence: PresenceMode;
  loginUsPerUser: number;
  connectUsPerUser: number;
  totalUsPerUser: number;
  serverUsPerUser: number;
  /** on the Redis engine: redis-server's CPU per user (login and attach: two appends) */
  redisUsPerUser?: number;
  rssMB: number;
  /** CPU other processes used during the measurement, % of one core (noise) */
  otherCpuPct: number;
  retries?: number;
}

export interface StormResult {
  watch: StormPoint[];
  all: StormPoint[];
  /** time per user at the largest watch size over that at the smallest */
  flatness: number | null;
}

async function stormOnce(env: ScenarioEnv, users: number, presence: PresenceMode): Promise<StormPoint> {
  const { loginConcurrency, connectConcurrency } = env.config.storm;
  const server = await env.start(presence);
  try {
    const dropped = await warmUp(env.scope, env.target, server, 100);
    if (dropped !== undefined) env.warn(dropped);
    const pool = env.scope.pool(server, loginConcurrency);
    // A few hundred users first, so the measured ones do not pay for JIT warm-up (they stay connected).
    const warm = await loginAll(env.scope, pool, userNames(`sw${users}_`, WARM_USERS), loginConcurrency);
    const warmSockets = await connectAll(env.scope, env.target, server, warm, connectConcurrency);
    await sleep(200);
    const names = userNames(`s${users}_`, users);
    await waitForQuiet(DISTURBED_PCT, env.config.quick ? 1000 : 20_000, env.log);
    const noise = new NoiseMeter(server.pid, server.redisPid);
    const cpu0 = cpuMicros(server.pid);
    const redis0 = redisMicros(server);
    const t0 = performance.now();
    const tokens = await loginAll(env.scope, pool, names, loginConcurrency);
    const t1 = performance.now();
    const sockets = await connectAll(env.scope, env.target, server, tokens, connectConcurrency, { timeoutMs: 60_000 });
    const t2 = performance.now();
    const cpuUs = cpuMicros(server.pid) - cpu0;
    const redisUs = redisMicros(server) - redis0;
    const otherCpuPct = noise.otherPct();
    await sleep(200);
    const point: StormPoint = {
      users,
      presence,
      loginUsPerUser: round(((t1 - t0) * 1000) / users, 1),
      connectUsPerUser: round(((t2 - t1) * 1000) / users, 1),
      totalUsPerUser: round(((t2 - t0) * 1000) / users, 1),
      serverUsPerUser: round(cpuUs / users, 1),
      ...(server.redisPid === undefined ? {} : { redisUsPerUser: round(redisUs / users, 1) }),
      rssMB: round(rssBytes(server.pid) / 2 ** 20, 1),
      otherCpuPct,
    };
    env.log(
      `${users} users (${presence}): ${point.totalUsPerUser} µs/user wall ` +
        `(login ${point.loginUsPerUser}, connect ${point.connectUsPerUser}), server ${point.serverUsPerUser} µs/user, others ${otherCpuPct}%`,
    );
    await server.stop(); // before the client side lets go of tens of thousands of sockets
    for (const ws of [...warmSockets, ...sockets]) ws.destroy();
    pool.close();
    return point;
  } finally {
    await server.stop();
  }
}

/** One size; measured again (once) when other processes took the CPU meanwhile. */
async function undisturbed(env: ScenarioEnv, users: number, presence: PresenceMode): Promise<StormPoint> {
  const point = await stormOnce(env, users, presence);
  if (point.otherCpuPct <= DISTURBED_PCT || env.config.quick) return point;
  env.log(`disturbed by other processes (${point.otherCpuPct}%): measuring ${users} users again`);
  const again = await stormOnce(env, users, presence);
  return { ...(again.otherCpuPct < point.otherCpuPct ? again : point), retries: 1 };
}

export async function storm(env: ScenarioEnv): Promise<StormResult> {
  const watch: StormPoint[] = [];
  for (const users of env.config.storm.watchSizes) watch.push(await undisturbed(env, users, 'watch'));
  const all: StormPoint[] = [];
  if (env.target.id === 'actor-chat' || env.target.engine === 'redis') {
    for (const users of env.config.storm.allSizes) all.push(await undisturbed(env, users, 'all'));
  }
  const first = watch[0];
  const last = watch[watch.length - 1];
  const flatness = first !== undefined && last !== undefined && watch.length > 1 ? round(last.totalUsPerUser / first.totalUsPerUser) : null;
  return { watch, all, flatness };
}
