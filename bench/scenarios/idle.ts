/**
 * (b) Idle memory: N users, each with its own login, connected and idle; the server's RSS growth
 * from before the first login to after the last socket settled, divided by N.
 */
import { connectAll, loginAll, userNames, warmUp } from '../lib/clients.ts';
import { round, type ScenarioEnv } from '../lib/env.ts';
import { cpuMicros, rssBytes, sleep } from '../lib/proc.ts';
import { NoiseMeter } from '../lib/quiet.ts';

export interface IdleResult {
  users: number;
  presence: string;
  rssBeforeMB: number;
  rssAfterMB: number;
  kbPerConnection: number;
  serverUsPerUser: number;
  connectSeconds: number;
  otherCpuPct: number;
}

export async function idle(env: ScenarioEnv): Promise<IdleResult> {
  const { users, presence } = env.config.idle;
  const server = await env.start(presence);
  const dropped = await warmUp(env.scope, env.target, server);
  if (dropped !== undefined) env.warn(dropped);
  const pool = env.scope.pool(server, 32);
  // Warm up lazily initialised code paths so they do not count as per-connection memory.
  const warm = await loginAll(env.scope, pool, userNames('w', 20));
  await connectAll(env.scope, env.target, server, warm, 20);
  await sleep(env.config.quick ? 300 : 1000);
  const rssBefore = rssBytes(server.pid);
  const cpuBefore = cpuMicros(server.pid);
  const noise = new NoiseMeter(server.pid);
  const started = Date.now();
  const tokens = await loginAll(env.scope, pool, userNames('i', users));
  const sockets = await connectAll(env.scope, env.target, server, tokens, 128);
  const connectSeconds = (Date.now() - started) / 1000;
  await sleep(env.config.quick ? 500 : 2000);
  const rssAfter = rssBytes(server.pid);
  const cpuAfter = cpuMicros(server.pid);
  const closed = sockets.filter((ws) => ws.isClosed).length;
  if (closed > 0) env.warn(`${closed} of ${users} idle sockets were closed by the server`);
  return {
    users,
    presence,
    rssBeforeMB: round(rssBefore / 2 ** 20, 1),
    rssAfterMB: round(rssAfter / 2 ** 20, 1),
    kbPerConnection: round((rssAfter - rssBefore) / users / 1024, 2),
    serverUsPerUser: round((cpuAfter - cpuBefore) / users, 1),
    connectSeconds: round(connectSeconds, 2),
    otherCpuPct: noise.otherPct(),
  };
}
