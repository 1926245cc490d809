/**
 * @module scripts/heap-logins
 * Measures what logins cost the node's heap: starts a node in-process on loopback with a journal in a
 * temporary directory, starts N sessions through the login path (`startSession`: token, journaled
 * `SessionStarted`, confirmation), waits until the grace period has dropped the user actors of these
 * socketless logins (CHAT_GRACE_MS=0), forces a GC and prints the heap before and after in MB.
 * With `--held` the grace period is 10 minutes instead: the heap is measured while every one of these
 * users still has its actor in `connecting`, which is what each node of a cluster holds for a login
 * made anywhere until a socket opens or the grace ends (docs/engine.md).
 * Run: `node --expose-gc --import tsx scripts/heap-logins.ts [N] [--held]` (N defaults to 60,000, at most 200,000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createChatNode } from '../src/node.ts';
import { startSession } from '../src/http/routes.ts';

const { values, positionals } = parseArgs({ options: { held: { type: 'boolean', default: false } }, allowPositionals: true });
const count = Math.min(Number(positionals[0] ?? 60_000), 200_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || !Number.isSafeInteger(count) || count < 1) {
  process.stderr.write('usage: node --expose-gc --import tsx scripts/heap-logins.ts [N ≤ 200000] [--held]\n');
  process.exit(2);
}

const heapMb = (): number => {
  gc();
  gc();
  return Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10;
};

const dir = mkdtempSync(join(tmpdir(), 'actor-chat-heap-'));
const config = loadConfig({
  CHAT_HOST: '127.0.0.1',
  CHAT_PORT: '0',
  CHAT_METRICS_PORT: 'off',
  CHAT_LOGIN_RATE_PER_MIN: '0',
  CHAT_JOURNAL: `file:${join(dir, 'events.log')}`,
  CHAT_SESSION_SECRET: 'h'.repeat(40),
  CHAT_GRACE_MS: values.held ? '600000' : '0',
});

/** Until the grace timers have ended every socketless user's actor (bounded: 60 s). */
async function actorsGone(runtime: { liveActors: number }): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (runtime.liveActors > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (runtime.liveActors > 0) throw new Error(`${runtime.liveActors} user actors still live after 60 s`);
}
const node = createChatNode(config, pino({ level: 'silent' }));
try {
  await node.start();
  const before = heapMb();
  const started = performance.now();
  for (let i = 0; i < count; i++) await startSession({ config, runtime: node.runtime, sessions: node.sessions }, `user${i}`);
  const seconds = (performance.now() - started) / 1000;
  const held = node.runtime.liveActors;
  if (!values.held) await actorsGone(node.runtime);
  const after = heapMb();
  const state = node.runtime.state as unknown as Record<string, { size?: number }>;
  const tables = Object.fromEntries(Object.entries(state).filter(([, value]) => typeof value?.size === 'number').map(([key, value]) => [key, value.size]));
  process.stdout.write(`${JSON.stringify({ logins: count, seconds: Math.round(seconds * 10) / 10, heapMbBefore: before, heapMbAfter: after, grewMb: Math.round((after - before) * 10) / 10, ...(values.held ? { held, kbPerHeldUser: Math.round(((after - before) * 1024 * 10) / count) / 10 } : {}), tables })}\n`);
} finally {
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
}
