/**
 * Slow consumers: a client that stops reading is closed by the node once its send buffer
 * passes maxBackpressure (memory stays bounded), others are unaffected, and after resuming
 * with after= the slow client has every id exactly once.
 */
import { describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { connectClosingAfterEach, startTestNode, type TestNode } from '../support/node.ts';
import { postPaced, type Frame } from '../support/ws-client.ts';

const COUNT = 20_000;
let node: TestNode;
const connect = connectClosingAfterEach(() => node);

const ids = (frames: Frame[]): number[] => frames.filter((frame) => frame.type === 'receive').map((frame) => frame.id as number);

async function metric(name: string): Promise<number> {
  const text = await (await fetch(node.metricsUrl)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? 'NaN');
}

describe('slow consumers', () => {
  it('closes a non-reading client at maxBackpressure; others get everything; the slow one resumes with every id exactly once', async () => {
    node = await startTestNode({
      CHAT_MAX_BACKPRESSURE: '65536',
      CHAT_RATE_PER_S: '1000000',
      CHAT_RATE_BURST: '1000000',
      CHAT_HISTORY_MAX: '100000',
      CHAT_LOG_LEVEL: 'warn',
    });
    const slow = await connect('slow');
    const tcp = (slow.socket as unknown as { _socket: Socket })._socket;
    tcp.pause(); // stop reading: the kernel buffers fill, then the node's send buffer does
    try {
      const bystander = await connect('bystander');
      const sender = await connect('sender');
      // 32 frames of 1 KB in flight: half of CHAT_MAX_BACKPRESSURE, so only the stalled reader passes it.
      await postPaced(sender, [sender, bystander], COUNT, 'x'.repeat(1000), 32);
      expect(ids(bystander.frames)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));

      expect(await metric('chat_slow_consumer_closes_total')).toBe(1);
      expect(await metric('chat_abnormal_closes_total')).toBe(0);
      expect(node.node.gateway.connections).toBe(2);
      // 20 MB went out to the stalled socket: the node closed it instead of buffering, so what it holds per socket is
      // bounded by maxBackpressure (the bystander, in the same process, holds all 20 MB it received, so RSS says nothing here).
    } finally {
      tcp.resume(); // also after a failure, so that closing the client does not wait forever
    }
    await slow.waitClosed();
    const before = ids(slow.frames);
    expect(before.length).toBeLessThan(COUNT);
    const last = before.at(-1) ?? 0;
    const resumed = await connect('slow', `?after=${last}`);
    await resumed.next((frame) => frame.type === 'receive' && frame.id === COUNT);
    const all = [...before, ...ids(resumed.frames)];
    expect(all).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
  });

  it('tells a socket still replaying a long history about presence changes (all mode), and it ends up with every id once', async () => {
    node = await startTestNode({ CHAT_RATE_PER_S: '1000000', CHAT_RATE_BURST: '1000000', CHAT_HISTORY_MAX: '100000', CHAT_LOG_LEVEL: 'warn' });
    const sender = await connect('sender');
    await postPaced(sender, [sender], COUNT, 'x'.repeat(1000), 256); // 256 KB in flight, a quarter of the default limit
    const late = await connect('late', '?after=0');
    const tcp = (late.socket as unknown as { _socket: Socket })._socket;
    // The replay of 20 MB stops at the send buffer's room and waits for the reader: 20 MB is more than that room and the
    // kernel's socket buffers hold, so "late" stays behind until it reads again, with no need to wait here.
    tcp.pause();
    expect(ids(late.frames).length).toBeLessThan(COUNT);
    const carol = await connect('carol'); // a join while "late" is still catching up
    await sender.next((frame) => frame.type === 'presence' && JSON.stringify(frame).includes('"carol"'));
    tcp.resume();
    await late.next((frame) => frame.type === 'presence' && JSON.stringify(frame).includes('"carol"'));
    await late.next((frame) => frame.type === 'receive' && frame.id === COUNT);
    expect(ids(late.frames)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    await carol.close();
  });
});
