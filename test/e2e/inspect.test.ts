/**
 * Live inspection (`CHAT_INSPECT`) against a real in-process node: an inspector client receives
 * the Stately inspection events of a real connect and disconnect; transitions are logged at trace
 * level with `log`; the configuration is validated.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from '../../src/config.ts';
import type { StatelyInspectionEvent } from '../../src/inspect/inspector.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

/** Collects inspection events from the node's local inspector endpoint. */
class InspectorClient {
  readonly events: StatelyInspectionEvent[] = [];
  private waiters: Array<{ match: (event: StatelyInspectionEvent) => boolean; resolve: (event: StatelyInspectionEvent) => void }> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: WebSocket.RawData) => {
      const event = JSON.parse(data.toString()) as StatelyInspectionEvent;
      this.events.push(event);
      const waiter = this.waiters.find((candidate) => candidate.match(event));
      if (waiter) {
        this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
        waiter.resolve(event);
      }
    });
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<InspectorClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      socket.once('open', () => resolve(new InspectorClient(socket)));
      socket.once('error', reject);
    });
  }

  /** The first event (received or to come) matching `match`. */
  waitFor(match: (event: StatelyInspectionEvent) => boolean): Promise<StatelyInspectionEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  close(): void {
    this.socket.close();
  }
}

const actorNamed = (name: string) => (event: StatelyInspectionEvent) => event.type === '@xstate.actor' && event.name === name;
const snapshotOf = (sessionId: string, value: string) => (event: StatelyInspectionEvent) =>
  event.type === '@xstate.snapshot' && event.sessionId === sessionId && (event.snapshot as { value?: unknown }).value === value;

let node: TestNode | undefined;
const open: Array<{ close(): unknown }> = [];

afterEach(async () => {
  for (const item of open.splice(0)) await item.close();
  await node?.close();
  node = undefined;
});

describe('live inspection', () => {
  it('streams the inspection events of a real connect and disconnect to an inspector client', async () => {
    node = await startTestNode({ CHAT_INSPECT: 'local:0', CHAT_GRACE_MS: '60000' });
    const base = node.node.inspection?.localUrl;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const inspector = await InspectorClient.connect(`${base!.replace('http', 'ws')}/inspect`);
    open.push(inspector);

    const { token } = await node.login('bob');
    const bob = await TestClient.connect(node.wsUrl, bearer(token));
    await bob.nextOfType('welcome');
    const actor = await inspector.waitFor(actorNamed('bob'));
    expect(actor).toMatchObject({ type: '@xstate.actor', _version: expect.any(String) });
    expect(JSON.parse((actor as { definition: string }).definition)).toMatchObject({ id: 'user' });
    const online = await inspector.waitFor(snapshotOf(actor.sessionId, 'online'));
    expect(online).toMatchObject({ event: { type: 'SOCKET_OPENED' }, snapshot: { status: 'active', context: { user: 'bob', sockets: 1 } } });

    bob.send({ type: 'message', text: 'not for the inspector', cid: 'c-1' });
    await bob.nextOfType('receive');
    const post = await inspector.waitFor((event) => event.type === '@xstate.event' && (event.event as { type: string }).type === 'POST_GROUP');
    expect(post.type === '@xstate.event' && post.event).toMatchObject({ from: 'bob', text: '[21 chars]' });

    await bob.close();
    const grace = await inspector.waitFor(snapshotOf(actor.sessionId, 'grace'));
    expect(grace).toMatchObject({ event: { type: 'SOCKET_CLOSED' }, snapshot: { context: { sockets: 0 } } });
    expect(JSON.stringify(inspector.events)).not.toContain('not for the inspector');
  });

  it('shows a late inspector client the live actors with their current state', async () => {
    node = await startTestNode({ CHAT_INSPECT: 'local:0' });
    const url = `${node.node.inspection!.localUrl!.replace('http', 'ws')}/inspect`;
    const early = await InspectorClient.connect(url);
    open.push(early);
    const alice = await TestClient.connect(node.wsUrl, bearer((await node.login('alice')).token));
    open.push(alice);
    await alice.nextOfType('welcome');
    const actor = await early.waitFor(actorNamed('alice'));
    await early.waitFor(snapshotOf(actor.sessionId, 'online'));

    const late = await InspectorClient.connect(url);
    open.push(late);
    const supervisor = await late.waitFor(actorNamed('supervisor'));
    expect(supervisor.type === '@xstate.actor' && supervisor.snapshot).toMatchObject({ value: 'running', context: { listed: 1, online: 1, liveUserActors: 1 } });
    const lateAlice = await late.waitFor(actorNamed('alice'));
    expect(lateAlice.type === '@xstate.actor' && lateAlice.snapshot).toMatchObject({ value: 'online', context: { sockets: 1 } });
  });

  it('serves the inspector page on loopback and refuses a socket from another origin', async () => {
    node = await startTestNode({ CHAT_INSPECT: 'local:0' });
    const base = node.node.inspection!.localUrl!;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('https://stately.ai/inspect');
    await expect(InspectorClient.connect(`${base.replace('http', 'ws')}/inspect`, { origin: 'https://evil.example' })).rejects.toThrow(/401/);
  });

  it('sends the events to a Stately Inspector relay at ws://', async () => {
    const relay = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    open.push({
      close: () => {
        for (const client of relay.clients) client.terminate();
        return new Promise<void>((resolve) => relay.close(() => resolve()));
      },
    });
    await new Promise((resolve) => relay.once('listening', resolve));
    const received: StatelyInspectionEvent[] = [];
    const sawDave = new Promise<void>((resolve) =>
      relay.on('connection', (socket) =>
        socket.on('message', (data: WebSocket.RawData) => {
          const event = JSON.parse(data.toString()) as StatelyInspectionEvent;
          received.push(event);
          if (event.type === '@xstate.snapshot' && (event.snapshot as { value?: unknown; context?: { user?: string } }).context?.user === 'dave' && (event.snapshot as { value?: unknown }).value === 'online') resolve();
        }),
      ),
    );
    node = await startTestNode({ CHAT_INSPECT: `ws://127.0.0.1:${(relay.address() as AddressInfo).port}` });
    const dave = await TestClient.connect(node.wsUrl, bearer((await node.login('dave')).token));
    open.push(dave);
    await dave.nextOfType('welcome');
    await sawDave;
    expect(received.some((event) => event.type === '@xstate.actor' && event.name === 'supervisor')).toBe(true);
  });

  it('logs actor transitions at trace level with "log"', async () => {
    node = await startTestNode({ CHAT_INSPECT: 'log', CHAT_LOG_LEVEL: 'trace', CHAT_GRACE_MS: '60000' });
    const carol = await TestClient.connect(node.wsUrl, bearer((await node.login('carol')).token));
    await carol.nextOfType('welcome');
    await carol.close();
    const transitions = node.logs.filter((line) => line.msg === 'actor transition' && line.actor === 'carol');
    expect(transitions.map((line) => [line.level, line.state, line.event])).toEqual([
      [10, 'connecting', 'xstate.init'],
      [10, 'online', 'SOCKET_OPENED'],
      [10, 'grace', 'SOCKET_CLOSED'],
    ]);
  });

  it('is off by default: no inspector, no inspect callback', async () => {
    node = await startTestNode();
    expect(node.node.inspection).toBeUndefined();
    expect(loadConfig({}).inspect).toBeUndefined();
  });
});

describe('CHAT_INSPECT', () => {
  it('accepts a relay URL, local with or without a port, and log, comma-separated', () => {
    expect(loadConfig({ CHAT_INSPECT: 'ws://127.0.0.1:8080' }).inspect).toEqual({ relay: 'ws://127.0.0.1:8080', log: false });
    expect(loadConfig({ CHAT_INSPECT: 'local' }).inspect).toEqual({ localPort: 5001, log: false });
    expect(loadConfig({ CHAT_INSPECT: 'local:0, log' }).inspect).toEqual({ localPort: 0, log: true });
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of ['http://x', 'local:99999', 'locale', 'ws://', 'log;local']) {
      expect(() => loadConfig({ CHAT_INSPECT: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ CHAT_INSPECT: bad }), bad).toThrow(/^CHAT_INSPECT: /);
    }
  });
});
