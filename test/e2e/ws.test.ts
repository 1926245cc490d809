import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer, postPaced } from '../support/ws-client.ts';

let node: TestNode | undefined;
const clients: TestClient[] = [];

async function start(env: Record<string, string> = {}): Promise<TestNode> {
  node = await startTestNode(env);
  return node;
}

/** Connects through the shared helper and keeps the client for afterEach to close. */
async function connect(user: string, query = ''): Promise<TestClient> {
  const client = await node!.connect(user, query);
  clients.push(client);
  return client;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await node?.close();
  node = undefined;
});

describe('websocket upgrade', () => {
  it('answers 401 with a JSON error and opens no socket without a session', async () => {
    const n = await start();
    await expect(TestClient.connect(n.wsUrl)).rejects.toMatchObject({ status: 401 });
    const error = await TestClient.connect(n.wsUrl, bearer('forged')).catch((e: { body: string }) => e);
    expect(JSON.parse((error as { body: string }).body).error.code).toBe('invalid_token');
    expect(n.node.gateway.connections).toBe(0);
  });

  it('accepts the session cookie from an allowed origin and refuses it from another origin', async () => {
    const n = await start();
    const alice = await n.login('alice');
    const ok = await TestClient.connect(n.wsUrl, { cookie: alice.cookie, origin: n.url });
    clients.push(ok);
    expect((await ok.nextOfType('welcome')).user).toBe('alice');
    await expect(TestClient.connect(n.wsUrl, { cookie: alice.cookie, origin: 'https://evil.example' })).rejects.toMatchObject({ status: 403 });
  });

  it('refuses a malformed after= with 400 invalid_query', async () => {
    const n = await start();
    const { token } = await n.login('alice');
    await expect(TestClient.connect(`${n.wsUrl}?after=abc`, bearer(token))).rejects.toMatchObject({ status: 400 });
  });

  it('refuses more sockets per user than configured with 429', async () => {
    const n = await start({ CHAT_MAX_SOCKETS_PER_USER: '2' });
    const { token } = await n.login('alice');
    clients.push(await TestClient.connect(n.wsUrl, bearer(token)), await TestClient.connect(n.wsUrl, bearer(token)));
    await expect(TestClient.connect(n.wsUrl, bearer(token))).rejects.toMatchObject({ status: 429 });
  });
});

describe('welcome', () => {
  it('is the first frame, with the newest id and the first page of the presence list', async () => {
    const n = await start({ CHAT_WELCOME_USERS: '2' });
    const a = await connect('alice');
    a.send({ type: 'message', text: 'one' });
    await a.nextOfType('receive');
    await connect('bob');
    const { token } = await n.login('carol');
    const carol = await TestClient.connect(n.wsUrl, bearer(token));
    clients.push(carol);
    const welcome = await carol.next();
    expect(welcome).toMatchObject({ type: 'welcome', user: 'carol', seq: 1, online: 3, total: 3, truncated: true, next: 'bob' });
    expect(welcome.users).toEqual([
      { name: 'alice', status: 'online' },
      { name: 'bob', status: 'online' },
    ]);
  });
});

describe('welcome without users', () => {
  it('works with CHAT_WELCOME_USERS=0: no users, truncated when anyone is listed', async () => {
    await start({ CHAT_WELCOME_USERS: '0' });
    await connect('bob');
    const { token } = await node!.login('alice');
    const alice = await TestClient.connect(node!.wsUrl, bearer(token));
    clients.push(alice);
    expect(await alice.next()).toMatchObject({ type: 'welcome', users: [], truncated: true, next: null, total: 2 });
  });
});

describe('group messages', () => {
  it('reach every socket, the sender included, with id, sender, timestamp and cid', async () => {
    await start();
    const alice = await connect('alice');
    const bob = await connect('bob');
    const bobTab2 = await connect('bob');
    const before = Date.now();
    alice.send({ type: 'message', text: 'hi all', cid: 'c-1' });
    const atAlice = await alice.nextOfType('receive');
    expect(atAlice).toMatchObject({ type: 'receive', id: 1, from: 'alice', text: 'hi all', cid: 'c-1' });
    expect(atAlice.ts).toBeGreaterThanOrEqual(before);
    expect(await bob.nextOfType('receive')).toEqual(atAlice);
    expect(await bobTab2.nextOfType('receive')).toEqual(atAlice);
  });

  it('are logged by the node as the original printed them', async () => {
    const n = await start();
    const alice = await connect('alice');
    alice.send({ type: 'message', text: 'hello log' });
    await alice.nextOfType('receive');
    expect(n.logs.some((line) => line.msg === 'alice: hello log' && line.id === 1)).toBe(true);
  });

  it('share one growing id sequence with direct messages', async () => {
    await start();
    const alice = await connect('alice');
    await connect('bob');
    alice.send({ type: 'message', text: 'g1' });
    alice.send({ type: 'direct', to: 'bob', text: 'd1' });
    alice.send({ type: 'message', text: 'g2' });
    const ids = [(await alice.nextOfType('receive')).id, (await alice.nextOfType('direct')).id, (await alice.nextOfType('receive')).id];
    expect(ids).toEqual([1, 2, 3]);
  });
});

describe('direct messages', () => {
  it("reach every socket of the recipient and of the sender, and nobody else's", async () => {
    await start();
    const alice = await connect('alice');
    const aliceTab2 = await connect('alice');
    const bob = await connect('bob');
    const bobTab2 = await connect('bob');
    const carol = await connect('carol');
    alice.send({ type: 'direct', to: 'bob', text: 'psst', cid: 'c-2' });
    const expected = { type: 'direct', id: 1, from: 'alice', to: 'bob', text: 'psst', cid: 'c-2' };
    for (const client of [alice, aliceTab2, bob, bobTab2]) expect(await client.nextOfType('direct')).toMatchObject(expected);
    await carol.sync();
    expect(carol.ofType('direct')).toEqual([]);
  });

  it('are refused with user_offline and the cid when the recipient is not online or in grace', async () => {
    await start();
    const alice = await connect('alice');
    alice.send({ type: 'direct', to: 'bob', text: 'anyone?', cid: 'c-9' });
    expect(await alice.nextOfType('error')).toEqual({ type: 'error', code: 'user_offline', message: 'bob is offline', cid: 'c-9' });
  });

  it('reach a user in grace on reconnect via resume', async () => {
    await start({ CHAT_GRACE_MS: '60000' });
    const alice = await connect('alice');
    const bob = await connect('bob');
    await bob.close();
    alice.send({ type: 'direct', to: 'bob', text: 'while you were away' });
    const sent = await alice.nextOfType('direct');
    const back = await connect('bob', '?after=0');
    expect(await back.nextOfType('direct')).toEqual(sent);
  });
});

describe('bad frames', () => {
  const cases: Array<[string, string | Buffer, string]> = [
    ['malformed JSON', '{"type":', 'invalid_frame'],
    ['a JSON array', '[1,2]', 'invalid_frame'],
    ['a frame without type', '{"text":"x"}', 'invalid_frame'],
    ['an unknown type', '{"type":"explode"}', 'unknown_type'],
    ['text of the wrong type', '{"type":"message","text":42}', 'invalid_frame'],
    ['empty text', '{"type":"message","text":"   "}', 'invalid_frame'],
    ['control characters in text', '{"type":"message","text":"a\\u0000b"}', 'invalid_frame'],
    ['a bad recipient', '{"type":"direct","to":"<script>","text":"x"}', 'invalid_frame'],
    ['a cid of the wrong type', '{"type":"message","text":"x","cid":7}', 'invalid_frame'],
    ['a bad list-users limit', '{"type":"list-users","limit":"ten"}', 'invalid_frame'],
    ['a binary frame', Buffer.from([1, 2, 3]), 'invalid_frame'],
  ];

  it.each(cases)('answer %s with an error frame and keep the socket open', async (_label, raw, code) => {
    await start();
    const alice = await connect('alice');
    alice.socket.send(raw);
    expect(await alice.nextOfType('error')).toMatchObject({ type: 'error', code });
    alice.send({ type: 'message', text: 'still here' });
    expect(await alice.nextOfType('receive')).toMatchObject({ text: 'still here' });
  });

  it('closes the connection of a socket that sends a text frame with invalid UTF-8, and the node goes on', async () => {
    const n = await start();
    const alice = await connect('alice');
    const bob = await connect('bob');
    alice.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await alice.waitClosed()).code).toBe(1006); // uWebSockets.js drops the connection (RFC 6455 §8.1)
    bob.send({ type: 'message', text: 'fine' });
    expect(await bob.nextOfType('receive')).toMatchObject({ text: 'fine' });
    expect(n.node.gateway.connections).toBe(1);
  });

  it('answers text over the limit with text_too_long', async () => {
    await start({ CHAT_MAX_TEXT: '10' });
    const alice = await connect('alice');
    alice.send({ type: 'message', text: 'x'.repeat(11), cid: 'long' });
    expect(await alice.nextOfType('error')).toMatchObject({ code: 'text_too_long', cid: 'long' });
  });

  it('closes a socket that sends a frame over the payload limit, and the node goes on', async () => {
    const n = await start({ CHAT_MAX_PAYLOAD: '1024' });
    const alice = await connect('alice');
    const bob = await connect('bob');
    alice.send({ type: 'message', text: 'x'.repeat(2000) });
    expect((await alice.waitClosed()).code).toBe(1006);
    bob.send({ type: 'message', text: 'fine' });
    expect(await bob.nextOfType('receive')).toMatchObject({ text: 'fine' });
    expect(n.node.gateway.connections).toBe(1);
  });

  it('answers over-rate messages with rate_limited and keeps the socket', async () => {
    await start({ CHAT_RATE_PER_S: '1', CHAT_RATE_BURST: '2' });
    const alice = await connect('alice');
    for (const cid of ['a', 'b', 'c']) alice.send({ type: 'message', text: cid, cid });
    expect(await alice.nextOfType('error')).toMatchObject({ code: 'rate_limited', cid: 'c' });
    await alice.sync();
    expect(alice.ofType('receive').map((frame) => frame.cid)).toEqual(['a', 'b']);
  });
});

describe('list-users frame', () => {
  it('pages the presence list', async () => {
    await start();
    for (const name of ['bob', 'carol', 'dave']) await connect(name);
    const alice = await connect('alice');
    alice.send({ type: 'list-users', limit: 2 });
    const first = await alice.nextOfType('users');
    expect(first).toMatchObject({ users: [{ name: 'alice' }, { name: 'bob' }], online: 4, next: 'bob' });
    alice.send({ type: 'list-users', after: 'bob', limit: 2 });
    expect(await alice.nextOfType('users')).toMatchObject({ users: [{ name: 'carol' }, { name: 'dave' }], next: null });
  });
});

describe('resume with after=', () => {
  it('replays the messages visible to the user after the id, then live traffic, without gap or duplicate', async () => {
    await start();
    const alice = await connect('alice');
    const bob = await connect('bob');
    await connect('carol');
    alice.send({ type: 'message', text: 'm1' });
    await bob.nextOfType('receive');
    await bob.close();
    alice.send({ type: 'message', text: 'm2' });
    alice.send({ type: 'direct', to: 'carol', text: 'not for bob' });
    alice.send({ type: 'direct', to: 'bob', text: 'for bob' });
    alice.send({ type: 'message', text: 'm3' });
    for (let i = 0; i < 4; i++) await alice.next((f) => f.type === 'receive' || f.type === 'direct');
    const back = await connect('bob', '?after=1');
    alice.send({ type: 'message', text: 'm4' });
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await back.next((f) => f.type === 'receive' || f.type === 'direct'));
    expect(seen.map((f) => [f.id, f.text])).toEqual([[2, 'm2'], [4, 'for bob'], [5, 'm3'], [6, 'm4']]);
    await back.sync();
    expect(back.frames.filter((f) => f.type === 'receive' || f.type === 'direct')).toHaveLength(4);
  });

});

describe('history window honesty', () => {
  it('says so with a history-gap frame when after is older than the history window', async () => {
    await start({ CHAT_HISTORY_MAX: '2' });
    const alice = await connect('alice');
    for (const text of ['a', 'b', 'c', 'd']) alice.send({ type: 'message', text });
    for (let i = 0; i < 4; i++) await alice.nextOfType('receive');
    const { token } = await node!.login('bob');
    const bob = await TestClient.connect(`${node!.wsUrl}?after=0`, bearer(token));
    clients.push(bob);
    expect(await bob.next()).toMatchObject({ type: 'welcome', seq: 4, oldest: 3 });
    expect(await bob.next()).toEqual({ type: 'history-gap', after: 0, oldest: 3 });
    expect(await bob.next()).toMatchObject({ type: 'receive', id: 3 });
    expect(await bob.next()).toMatchObject({ type: 'receive', id: 4 });
  });
});

describe('sockets of a user', () => {
  it('can be several; closing one keeps the user online', async () => {
    const n = await start();
    await connect('alice');
    const tab = await connect('alice');
    await tab.close();
    const { token } = await n.login('bob');
    const list = (await fetch(`${n.url}/list-users`, { headers: bearer(token) }).then((r) => r.json())) as { users: unknown[] };
    expect(list.users).toEqual([{ name: 'alice', status: 'online' }]);
  });
});

describe('a raw websocket client', () => {
  it('can speak the protocol with nothing but ws', async () => {
    const n = await start();
    const { token } = await n.login('raw');
    const socket = new WebSocket(n.wsUrl, { headers: bearer(token) });
    const first = await new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())));
    expect(JSON.parse(first).type).toBe('welcome');
    socket.close();
  });
});

describe('resume larger than the send buffer', () => {
  it('paces the replay by backpressure instead of closing the reader, then goes live', async () => {
    await start({ CHAT_MAX_BACKPRESSURE: '65536', CHAT_RATE_PER_S: '1000000', CHAT_RATE_BURST: '1000000', CHAT_LOG_LEVEL: 'warn' });
    const sender = await connect('sender');
    await postPaced(sender, [sender], 3000, 'y'.repeat(1000), 32); // the sender reads too: 32 KB in flight, under the limit
    const reader = await connect('reader', '?after=0');
    await reader.next((frame) => frame.id === 3000);
    sender.send({ type: 'message', text: 'live' });
    expect(await reader.next((frame) => frame.type === 'receive' && frame.text === 'live')).toMatchObject({ id: 3001 });
    const ids = reader.frames.filter((frame) => frame.type === 'receive').map((frame) => frame.id);
    expect(ids).toEqual(Array.from({ length: 3001 }, (_, i) => i + 1));
    expect(reader.closed).toBeUndefined();
  });
});
