/**
 * Failover storm (`--engine=redis`): N users connected to node A of two nodes on one Redis have seen
 * message L; A is killed with SIGKILL; a sender on node B posts M messages at once; every client
 * reconnects to B with `after=L`. Measured from the kill: until every client is greeted on B, until
 * every client has the M messages (exactly once), until B has declared A down, and until B lists every
 * user `online` with A declared down (so they are online through B, not through A's stale attachments).
 */
import { performance } from 'node:perf_hooks';
import { connect, connectAll, loginAll, mapLimit, userNames, warmUp, withTimeout } from '../lib/clients.ts';
import { round, type ScenarioEnv } from '../lib/env.ts';
import { httpGetOnce } from '../lib/http.ts';
import { cpuMicros, type ServerProc, sleep } from '../lib/proc.ts';
import { DISTURBED_PCT, waitForQuiet } from '../lib/quiet.ts';
import type { RawWs } from '../lib/rawws.ts';
import { NODE_TTL_MS } from '../lib/redis-engine.ts';

export interface FailoverResult {
  users: number;
  missed: number;
  ttlMs: number;
  /** kill → the last client greeted on node B, ms */
  welcomedMs: number | null;
  /** kill → every client has all M messages, ms */
  caughtUpMs: number | null;
  /** kill → node B read the `NodeDown` of node A, ms */
  declaredDownMs: number | null;
  /** kill → node B lists every user online and A is declared down, ms */
  allOnlineMs: number | null;
  welcomed: number;
  caughtUp: number;
  duplicates: number;
  failed: number;
  /** the most users node B showed in grace at one poll after the kill (reconnects later than the NodeDown) */
  maxGrace: number;
  nodeBCpuMs: number;
  redisCpuMs: number;
}

const MISSED_MARK = Buffer.from('fo#');
const POLL_MS = 100;

/** Node B's view, from its metrics listener: users online and in grace, NodeDown entries read. */
async function view(node: ServerProc): Promise<{ online: number; grace: number; declaredDown: number }> {
  const res = await httpGetOnce('127.0.0.1', node.metricsPort as number, '/metrics', 2000);
  const value = (pattern: RegExp): number => [...res.body.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
  return {
    online: value(/^chat_users\{state="online"\} (\S+)$/gm),
    grace: value(/^chat_users\{state="grace"\} (\S+)$/gm),
    declaredDown: value(/^chat_log_declared_down_total\{[^}]*\} (\S+)$/gm),
  };
}

/** The id node B gave the sender's message with client id `cid` (the sender reads its own few frames). */
function idOf(frames: string[], cid: string): number | undefined {
  for (const text of frames) {
    const frame = JSON.parse(text) as { type?: string; cid?: string; id?: number };
    if (frame.type === 'receive' && frame.cid === cid && typeof frame.id === 'number') return frame.id;
  }
  return undefined;
}

export async function failover(env: ScenarioEnv): Promise<FailoverResult> {
  const { users, missed, timeoutMs } = env.config.failover;
  const redis = await env.startRedis();
  const a = await env.start('watch', {}, redis);
  const b = await env.start('watch', {}, redis);
  for (const node of [a, b]) {
    const dropped = await warmUp(env.scope, env.target, node);
    if (dropped !== undefined) env.warn(dropped);
  }
  const tokens = await loginAll(env.scope, env.scope.pool(b, 32), userNames('fo', users + 1));
  const senderToken = tokens.pop() as string;
  const senderFrames: string[] = [];
  const sender = await connect(env.scope, env.target, b, senderToken, users, {
    onData: (buf, s, e) => void senderFrames.push(buf.toString('utf8', s, e)),
  });
  const onA = await connectAll(env.scope, env.target, a, tokens, 256, { timeoutMs: 60_000 });
  env.log(`${onA.length} users on node A, the sender on node B`);
  sender.send(env.target.messageFrame('mark', 'mark'));
  const deadline = performance.now() + 10_000;
  let lastSeen = idOf(senderFrames, 'mark');
  while (lastSeen === undefined && performance.now() < deadline) {
    await sleep(20);
    lastSeen = idOf(senderFrames, 'mark');
  }
  if (lastSeen === undefined) throw new Error('the sender never saw its mark message');
  await sleep(500);
  await waitForQuiet(DISTURBED_PCT, env.config.quick ? 1000 : 20_000, env.log);

  const cpu0 = [cpuMicros(b.pid), cpuMicros(redis.pid as number)];
  const t0 = performance.now();
  await a.stop(); // SIGKILL, and wait for the exit
  for (const ws of onA) ws.destroy();
  for (let k = 1; k <= missed; k++) sender.send(env.target.messageFrame(`fo#${k}`, `fo${k}`));

  const counts = new Int32Array(users);
  let caughtUp = 0;
  let duplicates = 0;
  let welcomed = 0;
  let failed = 0;
  let welcomedMs: number | null = null;
  let caughtUpMs: number | null = null;
  const reconnects = mapLimit(env.scope, tokens, 256, async (token, i) => {
    try {
      const ws = await connect(env.scope, env.target, b, token, i, {
        after: lastSeen,
        timeoutMs: 60_000,
        onData: (buf, s, e) => {
          if (buf.subarray(s, e).indexOf(MISSED_MARK) < 0) return;
          const count = ++(counts[i] as number);
          if (count > missed) duplicates++;
          if (count === missed && ++caughtUp === users) caughtUpMs = performance.now() - t0;
        },
      });
      if (++welcomed === users) welcomedMs = performance.now() - t0;
      return ws;
    } catch (error) {
      if (failed++ === 0) env.log(`reconnect failed: ${(error as Error).message}`);
      return undefined;
    }
  });
  reconnects.catch(() => undefined); // aborted with the scenario: the poll below ends too

  let declaredDownMs: number | null = null;
  let allOnlineMs: number | null = null;
  let maxGrace = 0;
  const end = t0 + timeoutMs;
  while (performance.now() < end && !env.scope.aborted && (allOnlineMs === null || caughtUpMs === null)) {
    const seen = await view(b).catch(() => undefined);
    const at = performance.now() - t0;
    if (seen !== undefined) {
      if (seen.declaredDown > 0) declaredDownMs ??= at;
      if (declaredDownMs !== null) maxGrace = Math.max(maxGrace, seen.grace);
      // every user plus the sender; a warm-up user may still be listed too
      if (declaredDownMs !== null && seen.online >= users + 1) allOnlineMs ??= at;
    }
    await sleep(POLL_MS);
  }
  const cpu = [cpuMicros(b.pid) - (cpu0[0] as number), cpuMicros(redis.pid as number) - (cpu0[1] as number)];
  const sockets = await withTimeout(reconnects, 5000, 'reconnects').catch(() => []);
  for (const ws of sockets) (ws as RawWs | undefined)?.destroy();
  const ms = (value: number | null): number | null => (value === null ? null : round(value, 0));
  const result: FailoverResult = {
    users,
    missed,
    ttlMs: NODE_TTL_MS,
    welcomedMs: ms(welcomedMs),
    caughtUpMs: ms(caughtUpMs),
    declaredDownMs: ms(declaredDownMs),
    allOnlineMs: ms(allOnlineMs),
    welcomed,
    caughtUp,
    duplicates,
    failed,
    maxGrace,
    nodeBCpuMs: round((cpu[0] as number) / 1000, 1),
    redisCpuMs: round((cpu[1] as number) / 1000, 1),
  };
  env.log(
    `kill → all ${users} greeted on B ${result.welcomedMs} ms, caught up ${result.caughtUpMs} ms, ` +
      `A declared down ${result.declaredDownMs} ms, all online on B ${result.allOnlineMs} ms (most in grace at once: ${maxGrace}), ` +
      `duplicates ${duplicates}, failed ${failed}`,
  );
  if (allOnlineMs === null || caughtUpMs === null) throw new Error(`not all ${users} users back within ${timeoutMs} ms: ${JSON.stringify(result)}`);
  return result;
}
