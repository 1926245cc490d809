/**
 * Socket.IO clients (socket.io-client 4.8) against a real node: transports, auth, refusals,
 * acknowledgements, `chat-error`, resume, logout, limits (PROTOCOL.md "Socket.IO clients").
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Socket } from 'node:net';
import { startTestNode, type TestNode } from '../support/node.ts';
import { SioClient } from '../support/sio-client.ts';

let node: TestNode;
const clients: SioClient[] = [];

async function start(env: Record<string, string> = {}): Promise<void> {
  node = await startTestNode({ CHAT_LOG_LEVEL: 'warn', ...env });
}

async function connect(options: Parameters<typeof SioClient.connect>[1]): Promise<SioClient> {
  const client = await SioClient.connect(node.url, options);
  clients.push(client);
  return client;
}

async function asUser(user: string, transports: Array<'polling' | 'websocket'> = ['websocket'], auth: Record<string, unknown> = {}): Promise<SioClient> {
  const { token } = await node.login(user);
  return connect({ transports, auth: { token, ...auth } });
}

/** The `message` of the connect_error a refused handshake gets. */
async function refusal(options: Parameters<typeof SioClient.connect>[1]): Promise<string> {
  const error = await SioClient.connect(node.url, options).then(
    () => new Error('connected'),
    (refused: Error) => refused,
  );
  return error.message;
}

afterEach(async () => {
  vi.useRealTimers();
  for (const client of clients.splice(0)) client.close();
  await node.close();
});

describe('Socket.IO transports and auth', () => {
  it('polling, then upgrade to WebSocket, with the session cookie of /login/<name>', async () => {
    await start();
    const { cookie } = await node.login('alice');
    const alice = await connect({ extraHeaders: { cookie } });
    expect(alice.of('welcome')[0]).toMatchObject({ user: 'alice', seq: 0 });
    if (alice.transport !== 'websocket') await new Promise((resolve) => alice.socket.io.engine.once('upgrade', resolve));
    expect(alice.transport).toBe('websocket');
    const ack = await alice.emitWithAck('message', { text: 'after the upgrade', cid: 'c1' });
    const received = await alice.next('receive', (data) => data.cid === 'c1');
    expect(ack).toEqual({ ok: true, id: received.data.id });
    expect(received.data).toMatchObject({ id: 1, from: 'alice', text: 'after the upgrade' });
    expect(node.node.gateway.connections).toBe(1);
  });

  it('WebSocket only, with auth.token; a plain string is a message (what the original client emits)', async () => {
    await start();
    const bob = await asUser('bob');
    expect(bob.transport).toBe('websocket');
    bob.socket.emit('message', 'hello from python');
    const received = await bob.next('receive');
    expect(received.data).toEqual({ id: 1, from: 'bob', text: 'hello from python', ts: expect.any(Number) });
  });

  it('long-polling only gets the same events', async () => {
    await start();
    const carol = await asUser('carol', ['polling']);
    expect(carol.transport).toBe('polling');
    expect(await carol.emitWithAck('message', 'one')).toEqual({ ok: true, id: 1 });
    expect(await carol.emitWithAck('message', 'two')).toEqual({ ok: true, id: 2 });
    await carol.next('receive', (data) => data.id === 2);
    expect(carol.of('receive').map((data) => data.id)).toEqual([1, 2]);
  });

  it('refuses with the stable code as connect_error message', async () => {
    await start({ CHAT_MAX_SOCKETS_PER_USER: '1' });
    expect(await refusal({ transports: ['websocket'] })).toBe('unauthorized');
    expect(await refusal({ transports: ['polling'], auth: { token: 'not-a-token' } })).toBe('invalid_token');
    const { token, cookie } = await node.login('dave');
    expect(await refusal({ transports: ['websocket'], auth: { token, after: 'yesterday' } })).toBe('invalid_query');
    // A cookie from another site's page must not open a socket as the user; a token may.
    expect(await refusal({ transports: ['websocket'], extraHeaders: { cookie, origin: 'https://evil.example' } })).toBe('forbidden');
    const dave = await connect({ transports: ['websocket'], auth: { token }, extraHeaders: { origin: 'https://evil.example' } });
    expect(await refusal({ transports: ['websocket'], auth: { token } })).toBe('too_many_sockets');
    dave.close();
  });

  it('CHAT_SOCKETIO=false turns it off: /socket.io/ is not found', async () => {
    await start({ CHAT_SOCKETIO: 'false' });
    expect((await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`)).status).toBe(404);
    await node.close();
    await start(); // on by default: the same request opens an Engine.IO session
    const open = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`);
    expect(open.status).toBe(200);
    expect(await open.text()).toMatch(/^0\{"sid":/);
  });

  it('refuses an expired session with session_expired', async () => {
    await start();
    const { token } = await node.login('erin');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 13 * 3600 * 1000); // past CHAT_SESSION_TTL_S (12 h)
    expect(await refusal({ transports: ['websocket'], auth: { token } })).toBe('session_expired');
  });
});

describe('Socket.IO acknowledgements and refusals', () => {
  it('acknowledges posts with the committed id, refusals with the code', async () => {
    await start({ CHAT_MAX_TEXT: '10' });
    const alice = await asUser('alice');
    expect(await alice.emitWithAck('message', { text: 'hi', cid: 'a' })).toEqual({ ok: true, id: 1 });
    expect(await alice.emitWithAck('message', { text: 'x'.repeat(11), cid: 'b' })).toMatchObject({ ok: false, code: 'text_too_long' });
    expect(await alice.emitWithAck('direct', { to: 'nobody', text: 'psst', cid: 'c' })).toMatchObject({ ok: false, code: 'user_offline' });
    expect(await alice.emitWithAck('message', 42)).toMatchObject({ ok: false, code: 'invalid_frame' });
    expect(await alice.emitWithAck('shout', { text: 'hey' })).toMatchObject({ ok: false, code: 'unknown_type' });
    await alice.sync();
    expect(alice.of('chat-error')).toEqual([]);
  });

  it('sends chat-error with the cid when the client gave no acknowledgement', async () => {
    await start();
    const alice = await asUser('alice');
    alice.socket.emit('direct', { to: 'nobody', text: 'psst', cid: 'd1' });
    expect((await alice.next('chat-error')).data).toMatchObject({ code: 'user_offline', cid: 'd1' });
  });

  it('applies the same rate limit as /ws', async () => {
    await start({ CHAT_RATE_PER_S: '1', CHAT_RATE_BURST: '1' });
    const alice = await asUser('alice');
    alice.socket.emit('message', { text: 'one', cid: 'm1' });
    alice.socket.emit('message', { text: 'two', cid: 'm2' });
    expect((await alice.next('chat-error')).data).toMatchObject({ code: 'rate_limited', cid: 'm2' });
    expect(alice.of('receive').map((data) => data.cid)).toEqual(['m1']);
  });

  it('closes a connection whose packet is over CHAT_MAX_PAYLOAD (maxHttpBufferSize)', async () => {
    await start({ CHAT_MAX_PAYLOAD: '1024', CHAT_MAX_TEXT: '100000' });
    const alice = await asUser('alice');
    alice.socket.emit('message', 'y'.repeat(2000));
    expect(await alice.waitDisconnect()).toBe('transport close');
    expect(node.node.runtime.state.seq).toBe(0);
  });
});

describe('Socket.IO resume and logout', () => {
  it('resumes with auth.after: missed messages in order, then live traffic', async () => {
    await start();
    const writer = await asUser('writer');
    for (const text of ['one', 'two', 'three']) await writer.emitWithAck('message', text);
    const reader = await asUser('reader', ['polling', 'websocket'], { after: 1 });
    await writer.emitWithAck('message', 'four');
    await reader.next('receive', (data) => data.id === 4);
    expect(reader.of('receive').map((data) => data.text)).toEqual(['two', 'three', 'four']);
  });

  it('tells a resume older than the window with history-gap', async () => {
    await start({ CHAT_HISTORY_MAX: '2' });
    const writer = await asUser('writer');
    for (const text of ['one', 'two', 'three', 'four']) await writer.emitWithAck('message', text);
    const reader = await asUser('reader', ['websocket'], { after: 0 });
    await reader.next('receive', (data) => data.id === 4);
    expect(reader.of('history-gap')).toEqual([{ after: 0, oldest: 3 }]);
    expect(reader.of('receive').map((data) => data.id)).toEqual([3, 4]);
  });

  it('logout closes the Socket.IO connections of the user; the session is refused afterwards', async () => {
    await start();
    const { token, cookie } = await node.login('alice');
    const polling = await connect({ transports: ['polling'], auth: { token } });
    const websocket = await connect({ transports: ['websocket'], extraHeaders: { cookie } });
    const response = await fetch(`${node.url}/logout/alice`, { headers: { cookie } });
    expect(response.status).toBe(200);
    expect(await websocket.waitDisconnect()).toBe('io server disconnect');
    expect(await polling.waitDisconnect()).toBe('io server disconnect');
    expect(await refusal({ transports: ['websocket'], auth: { token } })).toBe('session_revoked');
  });

  it('closes a Socket.IO reader that stops reading (slow consumer); others get everything', async () => {
    await start({ CHAT_MAX_BACKPRESSURE: '65536', CHAT_RATE_PER_S: '1000000', CHAT_RATE_BURST: '1000000' });
    const slow = await asUser('slow');
    const tcp = (slow.socket.io.engine.transport as unknown as { ws: { _socket: Socket } }).ws._socket;
    tcp.pause();
    const sender = await asUser('sender');
    const text = 'z'.repeat(4000);
    let last = 0;
    // 16 posts of 4 KB in flight: the sender's own buffer stays under the limit, the stalled reader's does not.
    for (let round = 0; round < 2000 && node.node.gateway.connections === 2; round++) {
      const acks = await Promise.all(Array.from({ length: 16 }, () => sender.emitWithAck('message', text)));
      last = acks.at(-1)!.id as number;
    }
    await vi.waitFor(() => expect(node.node.gateway.connections).toBe(1));
    await sender.next('receive', (data) => data.id === last);
    expect(sender.of('receive').map((data) => data.id)).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    const metrics = await (await fetch(node.metricsUrl)).text();
    expect(metrics).toMatch(/^chat_slow_consumer_closes_total 1$/m);
  });
});
