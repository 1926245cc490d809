/**
 * (b) Idle memory: N users, each with its own login, connected and idle; the server's RSS growth
 * from before the first login to after the last socket settled, divided by N.
 */
import { connect, connectAll, loginAll, mapLimit, totalFrames, userNames, warmUp } from '../lib/clients.ts';
import { round, type ScenarioEnv } from '../lib/env.ts';
import { httpGetOnce } from '../lib/http.ts';
import { cpuMicros, rssBytes, sleep, type ServerProc } from '../lib/proc.ts';
import { NoiseMeter } from '../lib/quiet.ts';
import type { PresenceMode } from '../lib/targets.ts';
import type { RawWs } from '../lib/rawws.ts';

export interface IdleResult {
  users: number;
  presence: string;
  rssBeforeMB: number;
  rssAfterMB: number;
  kbPerConnection: number;
  serverUsPerUser: number;
  connectSeconds: number;
  otherCpuPct: number;
  /** actor-chat only, from its /metrics: growth per user of the JS heap V8 keeps committed, and of what it uses */
  heapCommittedKbPerUser?: number;
  heapUsedKbPerUser?: number;
}

/** The JS heap (committed, used) from actor-chat's Prometheus metrics, in bytes. */
async function heapOf(port: number | undefined): Promise<{ committed: number; used: number } | undefined> {
  if (port === undefined) return undefined;
  const metrics = (await httpGetOnce('127.0.0.1', port, '/metrics', 5000)).body;
  const value = (name: string): number | undefined => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics);
    return match?.[1] === undefined ? undefined : Number(match[1]);
  };
  const committed = value('nodejs_heap_size_total_bytes');
  const used = value('nodejs_heap_size_used_bytes');
  return committed === undefined || used === undefined ? undefined : { committed, used };
}

/** Waits until RSS stops moving (two readings 500 ms apart within 1 %), at most maxMs; returns the last. */
async function settledRss(pid: number, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = rssBytes(pid);
  while (Date.now() < deadline) {
    await sleep(500);
    const now = rssBytes(pid);
    if (Math.abs(now - last) <= last * 0.01) return now;
    last = now;
  }
  return last;
}

/** Resolves once no socket received a frame for `quietMs` (at most `maxMs`). */
async function readersCaughtUp(sockets: readonly RawWs[], quietMs: number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = totalFrames(sockets);
  while (Date.now() < deadline) {
    await sleep(quietMs);
    const now = totalFrames(sockets);
    if (now === last) return;
    last = now;
  }
}

/**
 * Opens the sockets in batches, each once the sockets already open have read what they were sent. In presence `all`
 * mode every join goes to every open socket, N²/2 presence entries in all (≈ 440 MB for 5,000 users), and, opened at
 * full speed, the one-core load generator fell behind reading them by more or less from run to run; uWebSockets.js
 * keeps a socket's send buffer at its peak size while the socket lives, so the figure measured that lag (5 to 29 KB
 * per user between runs), not what an idle connection holds. The storm scenario measures join storms.
 */
async function connectPaced(env: ScenarioEnv, server: ServerProc, tokens: readonly string[], batch: number): Promise<RawWs[]> {
  const sockets: RawWs[] = [];
  for (let start = 0; start < tokens.length; start += batch) {
    const chunk = tokens.slice(start, start + batch);
    sockets.push(...(await mapLimit(env.scope, chunk, batch, (token, i) => connect(env.scope, env.target, server, token, start + i))));
    await readersCaughtUp(sockets, 100, 2000); // 100 ms: twice the node's presence flush window
  }
  return sockets;
}

export interface IdleResults extends IdleResult {
  /** actor-chat only: the same in presence `watch` mode */
  watchMode?: IdleResult;
}

export async function idle(env: ScenarioEnv): Promise<IdleResults> {
  const main = await idleOnce(env, env.config.idle.presence);
  if (env.target.id !== 'actor-chat' || env.config.idle.presence === 'watch' || env.config.quick) return main;
  return { ...main, watchMode: await idleOnce(env, 'watch') };
}

async function idleOnce(env: ScenarioEnv, presence: PresenceMode): Promise<IdleResult> {
  const { users } = env.config.idle;
  const server = await env.start(presence);
  const dropped = await warmUp(env.scope, env.target, server);
  if (dropped !== undefined) env.warn(dropped);
  const pool = env.scope.pool(server, 32);
  // Warm up lazily initialised code paths so they do not count as per-connection memory.
  const warm = await loginAll(env.scope, pool, userNames('w', 20));
  await connectAll(env.scope, env.target, server, warm, 20);
  const rssBefore = await settledRss(server.pid, env.config.quick ? 1000 : 5000);
  const heapBefore = env.target.id === 'actor-chat' ? await heapOf(server.metricsPort) : undefined;
  const cpuBefore = cpuMicros(server.pid);
  const noise = new NoiseMeter(server.pid);
  const started = Date.now();
  const tokens = await loginAll(env.scope, pool, userNames('i', users));
  const sockets = await connectPaced(env, server, tokens, 128);
  const connectSeconds = (Date.now() - started) / 1000;
  await sleep(env.config.quick ? 200 : 1000);
  const rssAfter = await settledRss(server.pid, env.config.quick ? 1000 : 8000);
  const cpuAfter = cpuMicros(server.pid);
  const heapAfter = heapBefore === undefined ? undefined : await heapOf(server.metricsPort);
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
    ...(heapBefore !== undefined && heapAfter !== undefined
      ? {
          heapCommittedKbPerUser: round((heapAfter.committed - heapBefore.committed) / users / 1024, 2),
          heapUsedKbPerUser: round((heapAfter.used - heapBefore.used) / users / 1024, 2),
        }
      : {}),
  };
}
