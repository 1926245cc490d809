/**
 * `npm run journal:pause`: what an online compaction costs traffic. Builds a journal with a large state
 * (100,000 revoked sessions and 3,000 messages, ≈ 10 MB), starts a node on it with CHAT_JOURNAL_MAX_BYTES just
 * above its size, and has one client post messages one at a time (post → own `receive`) until the node has
 * compacted and 200 more messages went through (bounded: 20,000 messages, 120 s). Prints the round-trip
 * times overall and during the compaction, with the node's own report (`journal compacted online`).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { encodeRecord } from '../src/journal/codec.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'journal-pause-'));
const path = join(dir, 'events.log');
const fd = openSync(path, 'w', 0o600);
const lines: Buffer[] = [];
for (let i = 0; i < 100_000; i++) lines.push(encodeRecord({ type: 'SessionEnded', sid: `filler-${i}`, user: `f${i}`, exp: 9_999_999_999, reason: 'logout', at: 1 }));
for (let id = 1; id <= 3000; id++) lines.push(encodeRecord({ type: 'GroupMessagePosted', id, from: 'f1', text: `filler ${id}`, ts: Date.now() }));
writeSync(fd, Buffer.concat(lines));
closeSync(fd);
const size = statSync(path).size;

const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
  cwd: root,
  env: {
    PATH: process.env.PATH ?? '',
    CHAT_PORT: '0',
    CHAT_LOG_FORMAT: 'json',
    CHAT_JOURNAL: `file:${path}`,
    CHAT_JOURNAL_MAX_BYTES: String(size + 512 * 1024),
    CHAT_RATE_PER_S: '100000',
    CHAT_RATE_BURST: '100000',
    CHAT_SESSION_SECRET: 's'.repeat(40),
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const logs: Array<Record<string, unknown>> = [];
let url = '';
let listening: () => void = () => {};
const ready = new Promise<void>((resolve) => (listening = resolve));
let buffered = '';
child.stdout!.on('data', (chunk: Buffer) => {
  buffered += chunk.toString();
  const parts = buffered.split('\n');
  buffered = parts.pop()!;
  for (const text of parts.filter((part) => part.startsWith('{'))) {
    const line = JSON.parse(text) as Record<string, unknown>;
    logs.push(line);
    if (String(line.msg).startsWith('actor-chat listening')) {
      url = String(line.url);
      listening();
    }
  }
});
await ready;
const { token } = (await (await fetch(`${url}/login/pauser`)).json()) as { token: string };
const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${token}` } });
const frames: Array<(frame: Record<string, unknown>) => void> = [];
socket.on('message', (data) => {
  const frame = JSON.parse(String(data)) as Record<string, unknown>;
  for (const waiter of frames.splice(0)) waiter(frame);
});
const next = (type: string): Promise<Record<string, unknown>> =>
  new Promise((resolve) => {
    const wait = (frame: Record<string, unknown>): void => (frame.type === type ? resolve(frame) : void frames.push(wait));
    frames.push(wait);
  });
await next('welcome');

const text = 'x'.repeat(1000);
const samples: Array<{ at: number; ms: number }> = [];
const deadline = Date.now() + 120_000;
let after = -1;
for (let i = 0; i < 20_000 && Date.now() < deadline; i++) {
  const sent = performance.now();
  const at = Date.now();
  socket.send(JSON.stringify({ type: 'message', text }));
  await next('receive');
  samples.push({ at, ms: performance.now() - sent });
  if (after < 0 && logs.some((line) => line.msg === 'journal compacted online')) after = i + 200;
  if (after >= 0 && i >= after) break;
}
socket.close();
child.kill('SIGTERM');
await new Promise((resolve) => child.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });

const started = logs.find((line) => line.msg === 'journal compaction started');
const report = logs.find((line) => line.msg === 'journal compacted online');
const stats = (values: number[]): string => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): string => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2);
  return `n=${sorted.length} p50=${at(0.5)} ms p99=${at(0.99)} ms max=${at(1)} ms`;
};
console.log(`journal of ${size} bytes, limit ${size + 512 * 1024}`);
console.log(`all round trips: ${stats(samples.map((s) => s.ms))}`);
if (started && report) {
  const from = Number(started.time);
  const to = Number(report.time);
  console.log(`during the compaction (${to - from} ms): ${stats(samples.filter((s) => s.at + s.ms >= from && s.at <= to).map((s) => s.ms))}`);
  const { captureMs, finalTurnMs, longestTurnMs, totalMs, appendsDuring, bytes } = report;
  console.log(`node's report: ${JSON.stringify({ bytes, appendsDuring, captureMs, finalTurnMs, longestTurnMs, totalMs })}`);
} else console.log('the node did not compact within the bounds');
