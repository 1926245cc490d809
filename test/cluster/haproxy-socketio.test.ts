/**
 * Socket.IO clients through HAProxy (`deploy/haproxy.cfg` verbatim) in front of three nodes on one Redis.
 * An Engine.IO session lives on the node that opened it, and HTTP long-polling sends each poll as its
 * own request: round robin alone would send them to other nodes, which answer "Session ID unknown".
 * The configuration routes every request naming a session (`?sid=`) to the node that opened it (learnt
 * from that node's `io` cookie) and balances everything else. Shown with the proof of concept's Python
 * console client (polling, then upgraded to WebSocket) and with `socket.io-client` kept on polling,
 * chatting with a `/ws` client: the same ids in the same order, every session's requests on one node,
 * and the sessions spread over more than one node.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { io, type Socket } from 'socket.io-client';
import { ClientProcess } from '../support/client-process.ts';
import { SioClient } from '../support/sio-client.ts';
import { useChatThroughHaproxy, until, receivedIds } from '../support/chat-through-haproxy.ts';
import type { Haproxy } from '../support/haproxy.ts';

const { start, login, connect } = useChatThroughHaproxy();
const processes: ClientProcess[] = [];
const sioClients: Array<SioClient | Socket> = [];

afterEach(() => {
  for (const child of processes.splice(0)) child.kill();
  for (const client of sioClients.splice(0)) client.close();
});

/** Resolves once `check()` holds, tested on every event `socket` receives; fails after 30 s saying `what`. */
function untilEvent(socket: Socket, check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.offAny(test);
      reject(new Error(`waited 30 s for ${what}`));
    }, 30_000);
    const evaluate = (): void => {
      if (!check()) return;
      clearTimeout(timer);
      socket.offAny(test);
      resolve();
    };
    // Socket.IO calls catch-all listeners before the event's own: check once those have run too.
    const test = (): void => queueMicrotask(evaluate);
    socket.onAny(test);
    evaluate();
  });
}

/** The node each Engine.IO session's requests went to, by session id (from HAProxy's log). */
function nodesBySession(lb: Haproxy): Map<string, Set<string>> {
  const sessions = new Map<string, Set<string>>();
  for (const request of lb.requests()) {
    const sid = /[?&]sid=([^&]+)/.exec(request.path)?.[1];
    if (!request.path.startsWith('/socket.io/') || sid === undefined) continue;
    const nodes = sessions.get(sid) ?? new Set<string>();
    nodes.add(request.server);
    sessions.set(sid, nodes);
  }
  return sessions;
}

describe('Socket.IO clients behind HAProxy (deploy/haproxy.cfg)', () => {
  it('long-polling sessions stay on the node that opened them; the original Python client and socket.io-client chat with /ws clients as one', { timeout: 120_000 }, async () => {
    const { lb } = await start();
    const watcher = await connect('watcher', await login('watcher'));

    const pythons = ['ana', 'ben', 'cy'].map((name) => {
      const child = ClientProcess.startPython([lb.url], { ENGINEIO_LOG: '1' });
      processes.push(child);
      child.write(name);
      return child;
    });
    for (const child of pythons) expect(await child.waitFor(/^name: connected via /, 20_000)).toBe('name: connected via websocket');
    for (const child of pythons) expect(child.stderr).toMatch(/WebSocket upgrade was successful/);

    const pollers: SioClient[] = [];
    for (const name of ['dee', 'eve', 'fay']) {
      const client = await SioClient.connect(lb.url, { transports: ['polling'], auth: { token: await login(name) } });
      sioClients.push(client);
      pollers.push(client);
    }
    for (const client of pollers) expect(client.transport).toBe('polling');

    // Everyone posts; every client, whichever node and transport, gets every message with the same ids.
    pythons[0]!.write('hello from ana');
    await Promise.all(pythons.map((child) => child.waitFor(/ana: hello from ana \(#\d+\)/)));
    for (const [index, client] of pollers.entries()) {
      const ack = await client.emitWithAck('message', { text: `poll ${index}`, cid: `p${index}` });
      expect(ack).toMatchObject({ ok: true });
    }
    watcher.client.send({ type: 'message', text: 'from the watcher', cid: 'w' });
    await until(watcher.client, () => receivedIds(watcher.client).length >= 5, 'the watcher to receive five messages');
    const order = watcher.client.ofType('receive').map((frame) => `${frame.id as number} ${frame.from as string} ${frame.text as string}`);
    for (const client of pollers) {
      await client.next('receive', (data) => data.text === 'from the watcher');
      expect(client.of('receive').map((data) => `${data.id as number} ${data.from as string} ${data.text as string}`)).toEqual(order);
    }
    // The Python client prints from python-socketio's handler threads, and print() writes the text and its newline
    // separately: two messages arriving together may share a line, or print in either order. So its transcript is
    // read as the messages it printed, by id; the order on the wire is checked on the clients above.
    for (const child of pythons) {
      await child.waitFor(/watcher: from the watcher \(#\d+\)/);
      const printed = [...child.lines.join('\n').matchAll(/(\w+): (.+?) \(#(\d+)\)/g)].map(([, from, text, id]) => `${id} ${from} ${text}`);
      expect(printed.sort((x, y) => Number.parseInt(x) - Number.parseInt(y))).toEqual(order);
    }

    // Every session's polls and its upgrade reached the node that opened it, and the sessions were
    // spread over the nodes (the handshakes themselves are balanced).
    const sessions = nodesBySession(lb);
    expect(sessions.size).toBeGreaterThanOrEqual(6);
    for (const [sid, nodes] of sessions) expect([...nodes], `session ${sid}`).toHaveLength(1);
    const used = new Set([...sessions.values()].map((nodes) => [...nodes][0]));
    console.log(`Engine.IO sessions per node: ${JSON.stringify([...used].map((node) => [node, [...sessions.values()].filter((nodes) => nodes.has(node!)).length]))}`);
    expect(used.size).toBeGreaterThan(1);
    expect(lb.requests().filter((request) => request.path.startsWith('/socket.io/') && request.status === 400)).toEqual([]);

    for (const child of pythons) child.write('x');
    for (const child of pythons) expect(await child.exited).toBe(0);
  });

  it('a polling session whose node is killed is not stuck to it: the client opens a new session on another node and resumes with auth.after, losing nothing', { timeout: 120_000 }, async () => {
    const { cluster, lb } = await start();
    const token = await login('pia');
    const ids: number[] = [];
    const poller = io(lb.url, {
      transports: ['polling'],
      forceNew: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 500,
      // Each (re)connect resumes after the last id this client received.
      auth: (send) => send({ token, ...(ids.length > 0 ? { after: ids.at(-1) } : {}) }),
    });
    sioClients.push(poller);
    let welcomes = 0;
    poller.on('welcome', () => welcomes++);
    poller.on('receive', (data: { id: number }) => ids.push(data.id));
    await untilEvent(poller, () => welcomes === 1, 'the first welcome');
    const sid = poller.io.engine.id;
    const home = [...(nodesBySession(lb).get(sid) ?? [])];
    expect(home).toHaveLength(1);

    // A /ws sender on another node.
    let sender = await connect('sam', await login('sam'));
    for (let attempt = 0; sender.server === home[0] && attempt < 3; attempt++) sender = await connect('sam', await login('sam'));
    expect(sender.server).not.toBe(home[0]);
    const send = async (count: number, label: string): Promise<void> => {
      for (let index = 0; index < count; index++) sender.client.send({ type: 'message', text: `${label} ${index}`, cid: `${label}-${index}` });
      await sender.client.next((frame) => frame.type === 'receive' && frame.cid === `${label}-${count - 1}`);
    };
    await send(3, 'before');
    await untilEvent(poller, () => ids.length === 3, 'three messages before the kill');

    const killedAt = Date.now();
    await cluster.kill(cluster.nodes.find((node) => node.name === home[0])!);
    await send(5, 'meanwhile');
    await untilEvent(poller, () => welcomes === 2 && ids.length >= 8, 'a second welcome and the five messages posted meanwhile');
    console.log(`polling client back on another node with all 8 messages ${Date.now() - killedAt} ms after the kill`);

    const all = receivedIds(sender.client);
    expect(all).toHaveLength(8);
    expect(ids).toEqual(all);
    const again = [...(nodesBySession(lb).get(poller.io.engine.id) ?? [])];
    expect(poller.io.engine.id).not.toBe(sid);
    expect(again).toHaveLength(1);
    expect(again[0]).not.toBe(home[0]);
    expect(poller.io.engine.transport.name).toBe('polling');
  });
});
