/**
 * Socket.IO and /ws clients in one conversation: the same ids in the same order, direct
 * messages both ways, presence and grace counting Socket.IO connections as sockets of their
 * user, list-users, watch and history over Socket.IO events.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestNode, type TestNode } from '../support/node.ts';
import type { TestClient } from '../support/ws-client.ts';
import { SioClient } from '../support/sio-client.ts';

let node: TestNode;
const sio: SioClient[] = [];
const ws: TestClient[] = [];

async function start(env: Record<string, string> = {}): Promise<void> {
  node = await startTestNode({ CHAT_LOG_LEVEL: 'warn', CHAT_RATE_PER_S: '1000', CHAT_RATE_BURST: '1000', ...env });
}

async function viaSocketIo(user: string, transports: Array<'polling' | 'websocket'>): Promise<SioClient> {
  const { token } = await node.login(user);
  const client = await SioClient.connect(node.url, { transports, auth: { token } });
  sio.push(client);
  return client;
}

async function viaWs(user: string): Promise<TestClient> {
  const client = await node.connect(user);
  ws.push(client);
  return client;
}

const status = (user: string): string | undefined =>
  node.node.runtime.state.presence.get(user);

afterEach(async () => {
  for (const client of sio.splice(0)) client.close();
  await Promise.all(ws.splice(0).map((client) => client.close()));
  await node.close();
});

describe('Socket.IO and /ws in one conversation', () => {
  it('every client sees the same messages with the same ids in the same order', async () => {
    await start();
    const alice = await viaWs('alice');
    const bob = await viaSocketIo('bob', ['polling', 'websocket']);
    const carol = await viaSocketIo('carol', ['websocket']);
    const dave = await viaSocketIo('dave', ['polling']);
    const COUNT = 30;
    for (let i = 0; i < COUNT; i++) {
      if (i % 4 === 0) alice.send({ type: 'message', text: `a${i}`, cid: `a${i}` });
      else if (i % 4 === 1) bob.socket.emit('message', { text: `b${i}`, cid: `b${i}` });
      else if (i % 4 === 2) carol.socket.emit('message', `c${i}`);
      else dave.socket.emit('message', { text: `d${i}` });
    }
    await alice.next((frame) => frame.type === 'receive' && frame.id === COUNT);
    for (const client of [bob, carol, dave]) await client.next('receive', (data) => data.id === COUNT);
    const expected = alice.ofType('receive').map(({ type: _type, ...rest }) => rest);
    expect(expected.map((message) => message.id)).toEqual(Array.from({ length: COUNT }, (_, i) => i + 1));
    for (const client of [bob, carol, dave]) expect(client.of('receive')).toEqual(expected);
  });

  it('direct messages cross between Socket.IO and /ws with one id', async () => {
    await start();
    const alice = await viaWs('alice');
    const bob = await viaSocketIo('bob', ['websocket']);
    const ack = await bob.emitWithAck('direct', { to: 'alice', text: 'psst', cid: 'x' });
    const atAlice = await alice.next((frame) => frame.type === 'direct');
    expect(atAlice).toMatchObject({ id: ack.id, from: 'bob', to: 'alice', text: 'psst', cid: 'x' });
    alice.send({ type: 'direct', to: 'bob', text: 'back', cid: 'y' });
    const atBob = await bob.next('direct', (data) => data.cid === 'y');
    expect(atBob.data).toMatchObject({ id: (ack.id as number) + 1, from: 'alice', to: 'bob', text: 'back' });
  });

  it('counts a Socket.IO connection as a socket of its user: presence, grace and back', async () => {
    await start({ CHAT_GRACE_MS: '600000' });
    const alice = await viaWs('alice');
    const bob = await viaSocketIo('bob', ['websocket']);
    await alice.next((frame) => frame.type === 'presence' && JSON.stringify(frame.changes).includes('"bob"'));
    const bobWs = await viaWs('bob');
    bob.close(); // bob still has his /ws socket: still online
    await vi.waitFor(() => expect(node.node.gateway.connections).toBe(2));
    expect(status('bob')).toBe('online');
    await bobWs.close(); // his last socket: grace
    await vi.waitFor(() => expect(status('bob')).toBe('grace'));
    const again = await viaSocketIo('bob', ['polling']);
    expect(status('bob')).toBe('online');
    await again.sync();
    expect(again.of('welcome')[0]).toMatchObject({ user: 'bob' });
    const changes = alice.ofType('presence').flatMap((frame) => frame.changes as Array<{ user: string; status: string }>);
    expect(changes.filter((change) => change.user === 'bob').map((change) => change.status)[0]).toBe('online');
  });

  it('answers list-users, watch and history as events, or through the acknowledgement', async () => {
    await start({ CHAT_PRESENCE: 'watch' });
    await viaWs('alice');
    const bob = await viaSocketIo('bob', ['websocket']);
    const users = await bob.emitWithAck('list-users', { limit: 10 });
    expect(users).toMatchObject({ ok: true, total: 2, users: [{ name: 'alice', status: 'online' }, { name: 'bob', status: 'online' }] });
    bob.socket.emit('list-users', {});
    expect((await bob.next('users')).data).toMatchObject({ total: 2 });
    expect(await bob.emitWithAck('watch', { users: ['alice'] })).toEqual({ ok: true });
    expect((await bob.next('presence')).data).toEqual({ changes: [{ user: 'alice', status: 'online' }] });
    for (const text of ['one', 'two', 'three']) await bob.emitWithAck('message', text);
    const page = await bob.emitWithAck('history', { limit: 2 });
    expect(page).toMatchObject({ ok: true, more: true, messages: [{ id: 2, text: 'two' }, { id: 3, text: 'three' }] });
    bob.socket.emit('history', { before: 2, cid: 'h' });
    expect((await bob.next('history')).data).toMatchObject({ cid: 'h', more: false, messages: [{ id: 1, text: 'one' }] });
    expect(await bob.emitWithAck('history', { limit: 'many' })).toMatchObject({ ok: false, code: 'invalid_frame' });
  });
});
