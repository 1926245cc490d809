/**
 * The user machine's model paths (user-paths.ts) replayed against a real node with bob's sockets
 * alternating between Socket.IO (odd: 1st, 3rd, … socket opened; WebSocket transport, then
 * long-polling upgraded) and `/ws`: a Socket.IO connection must count as a socket of its user for
 * presence, grace and logout exactly as a `/ws` socket does. A `/ws` user watches presence; time
 * moves only through fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { transitionPaths, type ModelEvent } from './user-paths.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';
import { expectBobAsModelled } from './presence-watcher.ts';
import { SioClient } from '../support/sio-client.ts';

const GRACE_MS = 10_000;
const FLUSH_MS = 50;
/** Round trips on the watcher to wait for the node to see a Socket.IO close (a real event each, never a sleep). */
const MAX_SYNCS = 200;

type BobSocket = { kind: 'ws'; client: TestClient } | { kind: 'sio'; client: SioClient };

let node: TestNode;
let watcher: TestClient;
let bobToken: string;
let bobSockets: BobSocket[];
let opened: number;

/** Waits until the node has seen `count` open sockets of bob (a Socket.IO close reaches it after the client's). */
async function bobSocketsAtNode(count: number): Promise<void> {
  for (let i = 0; i < MAX_SYNCS && (node.node.runtime.state.sockets.get('bob') ?? 0) !== count; i++) await watcher.sync();
}

async function perform(event: ModelEvent): Promise<void> {
  switch (event.type) {
    case 'SOCKET_OPENED': {
      opened++;
      if (opened % 2 === 1) {
        const transports: Array<'polling' | 'websocket'> = opened % 4 === 1 ? ['websocket'] : ['polling', 'websocket'];
        bobSockets.push({ kind: 'sio', client: await SioClient.connect(node.url, { transports, auth: { token: bobToken } }) });
      } else {
        const client = await TestClient.connect(node.wsUrl, bearer(bobToken));
        await client.nextOfType('welcome');
        bobSockets.push({ kind: 'ws', client });
      }
      return;
    }
    case 'SOCKET_CLOSED': {
      const socket = bobSockets.pop()!;
      if (socket.kind === 'ws') return void (await socket.client.close());
      socket.client.close();
      return bobSocketsAtNode(bobSockets.length);
    }
    case 'LOGOUT': {
      const response = await fetch(`${node.url}/logout/bob`, { headers: bearer(bobToken) });
      expect(response.status).toBe(200);
      for (const socket of bobSockets.splice(0)) {
        if (socket.kind === 'ws') expect((await socket.client.waitClosed()).code).toBe(4001);
        else expect(await socket.client.waitDisconnect()).toBe('io server disconnect');
      }
      return;
    }
    case 'GRACE_EXPIRED':
      vi.advanceTimersByTime(GRACE_MS);
  }
}

const paths = transitionPaths();

describe('user machine, model-based, with Socket.IO sockets among the user’s sockets', () => {
  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    node = await startTestNode({ CHAT_GRACE_MS: String(GRACE_MS), CHAT_PRESENCE_FLUSH_MS: String(FLUSH_MS), CHAT_LOG_LEVEL: 'warn' });
    watcher = await TestClient.connect(node.wsUrl, bearer((await node.login('watcher')).token));
    await watcher.nextOfType('welcome');
    bobToken = (await node.login('bob')).token;
    bobSockets = [];
    opened = 0;
  });

  afterEach(async () => {
    for (const socket of bobSockets) if (socket.kind === 'sio') socket.client.close();
    await Promise.all([...bobSockets.flatMap((socket) => (socket.kind === 'ws' ? [socket.client] : [])), watcher].map((socket) => socket.close()));
    await node.close();
    vi.useRealTimers();
  });

  it('has paths that open both kinds of socket', () => {
    const opens = paths.map((path) => path.steps.filter((step) => step.event.type === 'SOCKET_OPENED').length);
    expect(Math.max(...opens)).toBeGreaterThanOrEqual(2);
  });

  it.each(paths.map((path) => [path.name, path] as const))('%s', async (_name, path) => {
    for (const step of path.steps) {
      await perform(step.event);
      await expectBobAsModelled(node, watcher, step.state, FLUSH_MS);
    }
  });
});
