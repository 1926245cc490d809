/**
 * `npx tsx scripts/inspect-cost.ts`: what live inspection costs per group message. Drives the
 * supervisor runtime (no sockets) with 100 online users and times POST_GROUP with inspection off,
 * with the `log` sink (trace on, to a null stream), and with the `local` inspector (no client, one
 * client). Deferred inspector work (it serialises on a timer) is included: each batch waits for it.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import type { InspectionEvent } from 'xstate';
import { MemoryJournal } from '../src/journal/memory.ts';
import { ChatRuntime } from '../src/runtime/chat-runtime.ts';
import { createInspection, type Inspection } from '../src/inspect/inspector.ts';
import type { InspectConfig } from '../src/config.ts';

const USERS = 100;
const BATCH = 1000;
const BATCHES = 30;
const WARMUP = 5;

const nullLogger = (level: string): Logger => pino({ level }, new Writable({ write: (_c, _e, done) => done() }));
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function measure(inspect?: (event: InspectionEvent) => void): Promise<number> {
  const journal = new MemoryJournal({ maxEvents: 200_000, maxMessages: 10_000, maxAgeMs: 3_600_000 });
  const runtime = new ChatRuntime({ journal, graceMs: 10_000, shardSize: 128, logger: nullLogger('silent'), ...(inspect ? { inspect } : {}) });
  runtime.start();
  for (let i = 0; i < USERS; i++) {
    runtime.send({ type: 'LOGIN', user: `u${i}`, sid: `s${i}`, exp: 9_999_999_999 });
    runtime.send({ type: 'SOCKET_OPEN', user: `u${i}`, sid: `s${i}`, socket: i });
  }
  await tick();
  const perPost: number[] = [];
  for (let batch = 0; batch < BATCHES + WARMUP; batch++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) runtime.send({ type: 'POST_GROUP', from: `u${i % USERS}`, text: 'hello there', socket: i % USERS });
    await tick(); // the Stately inspector serialises on a timer: wait for it
    await tick();
    if (batch >= WARMUP) perPost.push(Number(process.hrtime.bigint() - start) / 1000 / BATCH);
  }
  runtime.stop();
  perPost.sort((a, b) => a - b);
  return perPost[perPost.length >> 1]!;
}

async function withInspection(config: InspectConfig, level: string, clients: number): Promise<number> {
  const inspection: Inspection = createInspection(config, nullLogger(level));
  await inspection.start();
  const sockets: WebSocket[] = [];
  for (let i = 0; i < clients; i++) {
    const socket = new WebSocket(`${inspection.localUrl!.replace('http', 'ws')}/inspect`);
    await new Promise((resolve) => socket.once('open', resolve));
    sockets.push(socket);
  }
  const result = await measure(inspection.inspect);
  for (const socket of sockets) socket.close();
  await inspection.stop();
  return result;
}

const CASES: Array<[string, () => Promise<number>]> = [
  ['off (default: no inspect option)', () => measure()],
  ['a no-op `inspect` callback (XState\'s own inspection overhead)', () => measure(() => {})],
  ['`log` with CHAT_LOG_LEVEL=info (no sink installed)', () => withInspection({ log: true }, 'info', 0)],
  ['`log` with CHAT_LOG_LEVEL=trace (to a null stream)', () => withInspection({ log: true }, 'trace', 0)],
  ['`local`, no inspector client connected', () => withInspection({ log: false, localPort: 0 }, 'info', 0)],
  ['`local`, one inspector client connected', () => withInspection({ log: false, localPort: 0 }, 'info', 1)],
];
const ROUNDS = 3;

async function main(): Promise<void> {
  const best = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of CASES) best.set(name, Math.min(best.get(name) ?? Infinity, await run()));
  }
  process.stdout.write(`| inspection | µs per POST_GROUP |\n| --- | --- |\n`);
  for (const [name, us] of best) process.stdout.write(`| ${name} | ${us.toFixed(1)} |\n`);
  process.stdout.write(`\nMedian of ${BATCHES} batches of ${BATCH} posts, best of ${ROUNDS} interleaved rounds; Node ${process.version}, ${USERS} users online, supervisor runtime only (no sockets).\n`);
}

void main();
