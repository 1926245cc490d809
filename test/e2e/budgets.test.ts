/**
 * Per-socket budgets: every frame counts (a ping flood is closed with 1008), watched users are capped
 * (`too_many_watches`), and a socket replaying a long history that stops reading is closed as a slow
 * consumer within 10 s, its send buffer never past about twice CHAT_MAX_BACKPRESSURE.
 */
import { describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { connectClosingAfterEach, startTestNode, type TestNode } from '../support/node.ts';
import { postPaced } from '../support/ws-client.ts';

let node: TestNode;
const connect = connectClosingAfterEach(() => node);

async function metric(line: string): Promise<number> {
  const text = await node.node.metrics.registry.metrics();
  const found = text.split('\n').find((candidate) => candidate.startsWith(`${line} `));
  return Number(found?.split(' ')[1] ?? 'NaN');
}

describe('the frame budget', () => {
  it('closes a socket that sends more frames than its budget with 1008, valid frames included', async () => {
    node = await startTestNode({ CHAT_FRAME_RATE_PER_S: '10', CHAT_FRAME_BURST: '20' });
    const flooder = await connect('flooder');
    for (let i = 0; i < 1000; i++) flooder.send({ type: 'ping' });
    const closed = await flooder.waitClosed();
    expect(closed.code).toBe(1008);
    expect(flooder.ofType('pong').length).toBeLessThanOrEqual(21);
    expect(await metric('chat_policy_closes_total{reason="frame_budget"}')).toBe(1);
  });

  it('answers a few invalid frames, then closes with 1008; 0 turns the frame budget off', async () => {
    node = await startTestNode({ CHAT_FRAME_RATE_PER_S: '0', CHAT_MAX_INVALID_FRAMES: '3' });
    const client = await connect('client');
    for (let i = 0; i < 300; i++) client.send({ type: 'ping' });
    await client.next((frame) => frame.type === 'pong' && client.ofType('pong').length === 300);
    for (let i = 0; i < 10; i++) client.send('not json');
    expect((await client.waitClosed()).code).toBe(1008);
    expect(client.ofType('error').map((frame) => frame.code)).toEqual(['invalid_frame', 'invalid_frame', 'invalid_frame']);
    expect(await metric('chat_policy_closes_total{reason="invalid_frames"}')).toBe(1);
  });
});

describe('watched users', () => {
  it('are capped per socket with too_many_watches; unwatching makes room', async () => {
    node = await startTestNode({ CHAT_PRESENCE: 'watch', CHAT_MAX_WATCHES: '100' });
    const watcher = await connect('watcher');
    const names = (from: number, count: number) => Array.from({ length: count }, (_, i) => `u${from + i}`);
    watcher.send({ type: 'watch', users: names(0, 100) });
    expect(((await watcher.nextOfType('presence')).changes as unknown[]).length).toBe(100);
    watcher.send({ type: 'watch', users: names(0, 50) }); // already watched: no new subscription
    await watcher.nextOfType('presence');
    watcher.send({ type: 'watch', users: names(100, 1) });
    expect((await watcher.nextOfType('error')).code).toBe('too_many_watches');
    watcher.send({ type: 'unwatch', users: names(0, 10) });
    watcher.send({ type: 'watch', users: names(100, 10) });
    expect(((await watcher.nextOfType('presence')).changes as unknown[]).length).toBe(10);
    await watcher.sync();
    expect(watcher.ofType('error')).toHaveLength(1);
  });
});

describe('a replay the reader does not read', () => {
  it('is closed as a slow consumer within 10 s, its send buffer never past twice CHAT_MAX_BACKPRESSURE', async () => {
    const limit = 65_536;
    node = await startTestNode({
      CHAT_MAX_BACKPRESSURE: String(limit),
      CHAT_RATE_PER_S: '1000000',
      CHAT_RATE_BURST: '1000000',
      CHAT_HISTORY_MAX: '100000',
      CHAT_LOG_LEVEL: 'warn',
    });
    const sender = await connect('sender');
    const count = 5_000;
    await postPaced(sender, [sender], count, 'x'.repeat(4000), 8); // 20 MB of history: more than any socket buffer holds
    const late = await connect('late', '?after=0');
    const tcp = (late.socket as unknown as { _socket: Socket })._socket;
    tcp.pause();
    const started = performance.now();
    let largest = 0;
    const sampler = setInterval(() => void metric('chat_send_buffer_max_bytes').then((bytes) => (largest = Math.max(largest, bytes))), 50);
    try {
      // Joins while "late" replays: presence frames go straight to it, on top of the replay.
      for (let i = 0; i < 20; i++) await connect(`joiner${i}`);
      // The node closing "late" is seen by the others: its user goes to grace (the paused reader itself cannot see it yet).
      await sender.next((frame) => frame.type === 'presence' && JSON.stringify(frame).includes('{"user":"late","status":"grace"}'));
    } finally {
      clearInterval(sampler);
      tcp.resume();
    }
    const seconds = (performance.now() - started) / 1000;
    await late.waitClosed();
    console.log(`paused replay reader closed after ${seconds.toFixed(2)} s; largest send buffer sampled ${largest} bytes (limit ${limit})`);
    expect(seconds).toBeLessThan(10);
    expect(largest).toBeLessThanOrEqual(2 * limit);
    expect(await metric('chat_slow_consumer_closes_total')).toBe(1);
    expect(late.ofType('receive').length).toBeLessThan(count);
  }, 30_000);
});
