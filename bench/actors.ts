/**
 * Micro-benchmark of the actor tree alone: time per login + socket open through the supervisor
 * (journal append, shard placement, user actor spawn, presence) as the node fills up. Shows that
 * adding a user costs the same at 1k and at 20k+ users although XState's spawn copies the parent's
 * children: shards keep every parent small. Then a whole lifecycle (login → socket → close → grace
 * over → actor stopped) with 200 other users in grace, as in the benchmark's churn.
 * `npm run bench:actors [-- --users=50000 --shard-size=128]`
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { MemoryJournal } from '../src/journal/memory.ts';
import { ChatRuntime } from '../src/runtime/chat-runtime.ts';
import type { TimerClock } from '../src/runtime/grace-timers.ts';

const { values } = parseArgs({ options: { users: { type: 'string', default: '50000' }, 'shard-size': { type: 'string', default: '128' } } });
const total = Number(values.users);
const shardSize = Number(values['shard-size']);
function createRuntime(clock?: TimerClock): ChatRuntime {
  const created = new ChatRuntime({
    ...(clock ? { clock } : {}),
    journal: new MemoryJournal({ maxEvents: 1_000_000, maxMessages: 10_000, maxAgeMs: 3_600_000 }),
    graceMs: 10_000,
    shardSize,
    logger: pino({ level: 'silent' }),
  });
  created.start();
  return created;
}

// Warm up the JIT on a throw-away node so the first checkpoint measures the code, not the compiler.
let runtime = createRuntime();
for (let i = 0; i < 3_000; i++) connect(i);
runtime.stop();
runtime = createRuntime();

const checkpoints = [1_000, 5_000, 10_000, 20_000, 50_000, 100_000].filter((n) => n <= total);
let next = 0;
console.log(`shard size ${shardSize}; µs per login + connect, measured over the 500 users ending at each size`);
for (const size of checkpoints) {
  for (; next < size - 500; next++) connect(next);
  const started = process.hrtime.bigint();
  for (; next < size; next++) connect(next);
  const micros = Number(process.hrtime.bigint() - started) / 1e3 / 500;
  console.log(`${String(size).padStart(7)} users: ${micros.toFixed(1)} µs   (live actors ${runtime.liveActors}, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB)`);
}

function connect(i: number): void {
  const user = `user${i}`;
  runtime.send({ type: 'LOGIN', user, sid: `sid-${i}`, exp: 9_999_999_999 });
  runtime.send({ type: 'SOCKET_OPEN', user, sid: `sid-${i}`, socket: i });
}

// The lifecycle: grace timers on a manual clock that fires each one 200 cycles after it was armed.
const armed = new Map<number, { at: number; fire: () => void }>();
let timerId = 0;
let cycle = 0;
const clock: TimerClock = {
  setTimeout: (fire) => {
    armed.set(++timerId, { at: cycle, fire });
    return timerId;
  },
  clearTimeout: (id) => void armed.delete(id as number),
};
runtime.stop();
runtime = createRuntime(clock);
const lifecycle = (i: number): void => {
  const user = `life${i}`;
  runtime.send({ type: 'LOGIN', user, sid: `life-${i}`, exp: 9_999_999_999 });
  runtime.send({ type: 'SOCKET_OPEN', user, sid: `life-${i}`, socket: i });
  runtime.send({ type: 'SOCKET_CLOSE', user, socket: i });
  cycle++;
  for (const [id, timer] of armed) {
    if (cycle - timer.at < 200) break;
    armed.delete(id);
    timer.fire();
  }
};
for (let i = 0; i < 5_000; i++) lifecycle(i);
const started = process.hrtime.bigint();
for (let i = 5_000; i < 15_000; i++) lifecycle(i);
const micros = Number(process.hrtime.bigint() - started) / 1e3 / 10_000;
console.log(`lifecycle (login → socket → close → grace over, 200 users in grace): ${micros.toFixed(1)} µs   (live actors ${runtime.liveActors})`);
