/**
 * The Redis engine under the benchmark (`--engine=redis`): a real redis-server (Debian's, AOF on, a
 * free loopback port, its own temp dir: test/support/redis.ts) per node or shared by a scenario's
 * nodes, the environment that joins a node to it, and Redis's own CPU clock.
 */
import { randomBytes } from 'node:crypto';
import { RedisServer } from '../../test/support/redis.ts';
import { cpuMicros, pinToCore, type ServerProc } from './proc.ts';

export { RedisServer };

/** One secret for every node of the run: a session from one node must verify on the others. */
const SESSION_SECRET = randomBytes(32).toString('base64url');

/** `CHAT_NODE_TTL_MS` of the benchmark's nodes: the shipped default. */
export const NODE_TTL_MS = 3000;

export function engineEnv(redis: RedisServer): Record<string, string> {
  return { CHAT_ENGINE: redis.url, CHAT_SESSION_SECRET: SESSION_SECRET, CHAT_NODE_TTL_MS: String(NODE_TTL_MS) };
}

const live = new Set<RedisServer>();
let exitHook = false;

/** A fresh redis-server; whatever way the run ends, it is killed (it is not a child proc.ts tracks). */
export async function startRedis(): Promise<RedisServer> {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const redis of live) {
        try {
          if (redis.pid !== undefined) process.kill(redis.pid, 'SIGKILL');
        } catch {
          // already gone: nothing to stop
        }
      }
    });
  }
  const redis = await RedisServer.start();
  live.add(redis);
  // Core 0, beside the load generator: left to the scheduler it landed beside the nodes (core 1) in some runs and
  // took their CPU, which moved the two-node scenario's max clean rate between 2,400 and 4,000 msg/s from run to
  // run. In a deployment Redis has a machine or a core of its own, never the nodes'.
  if (redis.pid !== undefined) pinToCore(redis.pid, 0);
  return redis;
}

/** Kills it and removes its data. */
export async function stopRedis(redis: RedisServer): Promise<void> {
  live.delete(redis);
  await redis.close();
}

/** Redis's CPU time (all threads), µs; 0 for a server without one (embedded). */
export function redisMicros(server: ServerProc): number {
  return server.redisPid === undefined ? 0 : cpuMicros(server.redisPid);
}
