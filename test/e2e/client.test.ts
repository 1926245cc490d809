import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClientProcess } from '../support/client-process.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { TestClient, bearer, type Frame } from '../support/ws-client.ts';

const TIME = String.raw`\[\d\d:\d\d:\d\d\]`;
let node: TestNode;
let proxy: TcpProxy | undefined;
const clients: TestClient[] = [];
const processes: ClientProcess[] = [];

/** Connects through the shared helper and keeps the client for afterEach to close. */
async function connect(user: string, query = ''): Promise<TestClient> {
  const client = await node.connect(user, query);
  clients.push(client);
  return client;
}

function startClient(args: string[], url = node.url): ClientProcess {
  const client = ClientProcess.start(['--url', url, '--reconnect-min-ms', '20', '--reconnect-max-ms', '100', ...args]);
  processes.push(client);
  return client;
}

function presenceOf(user: string, status: string): (frame: Frame) => boolean {
  return (frame) => frame.type === 'presence' && (frame.changes as Array<{ user: string; status: string }>).some((c) => c.user === user && c.status === status);
}

function textsFrom(client: TestClient, user: string): string[] {
  return client.ofType('receive').filter((frame) => frame.from === user).map((frame) => frame.text as string);
}

beforeEach(async () => {
  node = await startTestNode({ CHAT_PRESENCE_FLUSH_MS: '5' });
});

afterEach(async () => {
  for (const client of processes.splice(0)) client.kill();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await proxy?.close();
  proxy = undefined;
  await node.close();
});

describe('console client', () => {
  it('chats through stdin/stdout: group lines, /dm, errors, presence, /users, and x logs out', async () => {
    const bob = await connect('bob');
    const alice = startClient(['--user', 'alice']);
    expect(await alice.waitFor(/^\* connected as alice/)).toMatch(/2 online: alice, bob/);
    await bob.next(presenceOf('alice', 'online'));

    alice.write('hello from alice');
    expect(await bob.nextOfType('receive')).toMatchObject({ from: 'alice', text: 'hello from alice' });
    await alice.waitFor(new RegExp(`^${TIME} alice: hello from alice$`));

    bob.send({ type: 'message', text: 'hi alice' });
    await alice.waitFor(new RegExp(`^${TIME} bob: hi alice$`));

    alice.write('/dm bob psst, bob');
    expect(await bob.nextOfType('direct')).toMatchObject({ from: 'alice', to: 'bob', text: 'psst, bob' });
    await alice.waitFor(new RegExp(`^${TIME} alice → bob: psst, bob$`));

    alice.write('/dm nobody hi');
    await alice.waitFor(/^! user_offline: nobody is offline$/);

    const carol = await connect('carol');
    await alice.waitFor(/^\* carol is online$/);
    await carol.close();
    await alice.waitFor(/^\* carol is away$/);

    alice.write('/users');
    await alice.waitFor(/^\* 2 online, 1 away: alice, bob, carol \(away\)$/);

    alice.write('x');
    await bob.next(presenceOf('alice', 'offline'));
    await alice.waitFor(/^\* logged out alice$/);
    expect(await alice.exited).toBe(0);
  });

  it('pages /users through `next` until the whole list is printed', async () => {
    await node.close();
    node = await startTestNode({ CHAT_PRESENCE_FLUSH_MS: '5', CHAT_PAGE_SIZE: '2' });
    for (const user of ['bob', 'carol', 'dave', 'erin']) await connect(user);
    const alice = startClient(['--user', 'alice']);
    await alice.waitFor(/^\* connected as alice/);
    alice.write('/users');
    expect(await alice.waitFor(/^\* \d+ online/)).toBe('* 5 online: alice, bob, carol, dave, erin');
  });

  it('runs piped stdin in order, asks for the user name on the first line, and logs out at EOF', async () => {
    const bob = await connect('bob');
    const lines = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`);
    const alice = startClient([]);
    alice.write('alice', ...lines, '/dm bob last words');
    alice.end();
    expect(await alice.exited).toBe(0);
    await bob.next(presenceOf('alice', 'offline'));
    expect(textsFrom(bob, 'alice')).toEqual(lines);
    expect(bob.ofType('direct')).toMatchObject([{ from: 'alice', to: 'bob', text: 'last words' }]);
    expect(alice.lines.filter((line) => / alice: line \d+$/.test(line)).map((line) => line.replace(/^.* alice: /, ''))).toEqual(lines);
  });

  it('retries lines the node rate-limits, keeping their order', async () => {
    await node.close();
    node = await startTestNode({ CHAT_PRESENCE_FLUSH_MS: '5', CHAT_RATE_BURST: '3', CHAT_RATE_PER_S: '40' });
    const bob = await connect('bob');
    const lines = Array.from({ length: 12 }, (_, i) => `burst ${i + 1}`);
    const alice = startClient(['--user', 'alice']);
    alice.write(...lines);
    alice.end();
    expect(await alice.exited).toBe(0);
    await bob.next(presenceOf('alice', 'offline'));
    expect(textsFrom(bob, 'alice')).toEqual(lines);
    expect(alice.lines.some((line) => line.includes('rate_limited'))).toBe(false);
  });

  it('reconnects after the node drops it and prints what it missed exactly once (resume with ?after=)', async () => {
    proxy = await TcpProxy.start(node.port);
    const bob = await connect('bob');
    const alice = startClient(['--user', 'alice'], proxy.url);
    await alice.waitFor(/^\* connected as alice/);
    bob.send({ type: 'message', text: 'before the drop' });
    await alice.waitFor(/bob: before the drop$/);

    proxy.down(); // hold the reconnect off until the missed messages exist
    node.node.gateway.closeUser('alice', 1001, 'test');
    await alice.waitFor(/^\* connection lost \(1001 test\); reconnecting in \d+ms$/);
    const missed = ['missed one', 'missed two', 'missed three'];
    for (const text of missed) bob.send({ type: 'message', text });
    bob.send({ type: 'direct', to: 'alice', text: 'missed direct' });
    await bob.next((frame) => frame.type === 'direct' && frame.text === 'missed direct');
    await alice.waitFor(/^\* cannot reach .*; reconnecting in \d+ms$/);

    proxy.restore();
    await alice.waitFor(/^\* reconnected as alice, catching up after message #1$/);
    await alice.waitFor(/bob → alice: missed direct$/);
    alice.write('synced');
    await alice.waitFor(/alice: synced$/);

    for (const text of ['before the drop', ...missed]) expect(alice.count(`bob: ${text}`)).toBe(1);
    expect(alice.count('bob → alice: missed direct')).toBe(1);
    const printed = alice.lines.filter((line) => /bob: missed/.test(line)).map((line) => line.replace(/^.* bob: /, ''));
    expect(printed).toEqual(missed);
  });

  it('exits 3 with a message when its session is logged out elsewhere', async () => {
    const alice = startClient(['--user', 'alice']);
    await alice.waitFor(/^\* connected as alice/);
    const other = await node.login('alice');
    const response = await fetch(`${node.url}/logout/alice`, { headers: bearer(other.token) });
    expect(response.status).toBe(200);
    await alice.waitFor(/^\* logged out: /);
    expect(await alice.exited).toBe(3);
  });

  it('runs the same way from the package bin', async () => {
    const bob = await connect('bob');
    const alice = ClientProcess.startBin(['--url', node.url, '--user', 'alice']);
    processes.push(alice);
    await alice.waitFor(/^\* connected as alice/);
    // Presence is batched: an online and an offline inside one flush window cancel out (no flap), so see
    // alice online before she leaves.
    await bob.next(presenceOf('alice', 'online'));
    alice.write('via the bin', 'x');
    expect(await alice.exited).toBe(0);
    await bob.next(presenceOf('alice', 'offline'));
    expect(textsFrom(bob, 'alice')).toEqual(['via the bin']);
  });

  it('refuses an invalid user name with exit code 2 and a clear message', async () => {
    const client = startClient(['--user', 'not a name']);
    expect(await client.exited).toBe(2);
    expect(client.stderr).toMatch(/invalid user name "not a name"/);
  });
});
