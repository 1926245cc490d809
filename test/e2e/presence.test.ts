import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer, type Frame } from '../support/ws-client.ts';

const FLUSH_MS = 50;
const GRACE_MS = 10_000;
let node: TestNode;
const clients: TestClient[] = [];

async function start(env: Record<string, string> = {}): Promise<void> {
  node = await startTestNode({ CHAT_PRESENCE_FLUSH_MS: String(FLUSH_MS), CHAT_GRACE_MS: String(GRACE_MS), ...env });
}

/** Connects through the shared helper and keeps the client for afterEach to close. */
async function connect(user: string, query = ''): Promise<TestClient> {
  const client = await node.connect(user, query);
  clients.push(client);
  return client;
}

/** Lets the flush window pass, then proves every frame sent so far has arrived. */
async function flush(...observers: TestClient[]): Promise<void> {
  vi.advanceTimersByTime(FLUSH_MS);
  for (const observer of observers) await observer.sync();
}

/** Starts a node where alice sees bob come online, then closes bob's socket; returns alice. */
async function aliceSeesBobLeave(): Promise<TestClient> {
  await start();
  const alice = await connect('alice');
  const bob = await connect('bob');
  await flush(alice);
  await bob.close();
  return alice;
}

function changesFor(client: TestClient, user: string): string[] {
  return client
    .ofType('presence')
    .flatMap((frame: Frame) => frame.changes as Array<{ user: string; status: string }>)
    .filter((change) => change.user === user)
    .map((change) => change.status);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await node.close();
  vi.useRealTimers();
});

describe('presence in all mode', () => {
  it('tells everyone when a user comes online, batched into one frame per window', async () => {
    await start();
    const alice = await connect('alice');
    await connect('bob');
    await connect('carol');
    await alice.sync();
    expect(alice.ofType('presence')).toEqual([]);
    await flush(alice);
    const frames = alice.ofType('presence');
    expect(frames).toHaveLength(1);
    expect(frames[0]!.changes).toEqual([
      { user: 'alice', status: 'online' },
      { user: 'bob', status: 'online' },
      { user: 'carol', status: 'online' },
    ]);
  });

  it('shows grace when the last socket closes, then offline when the grace period ends', async () => {
    const alice = await aliceSeesBobLeave();
    await flush(alice);
    expect(changesFor(alice, 'bob')).toEqual(['online', 'grace']);
    const listed = await fetch(`${node.url}/list-users`, { headers: bearer((await node.login('x')).token) }).then((r) => r.json());
    expect(listed).toMatchObject({ users: [{ name: 'alice', status: 'online' }, { name: 'bob', status: 'grace' }], online: 1 });
    // The socket closed one flush window ago: one millisecond before the grace period ends, bob is still in grace.
    vi.advanceTimersByTime(GRACE_MS - FLUSH_MS - 1);
    expect(node.node.runtime.userActorState('bob')).toBe('grace');
    vi.advanceTimersByTime(1);
    expect(node.node.runtime.userActorState('bob')).toBeUndefined();
    await flush(alice);
    expect(changesFor(alice, 'bob')).toEqual(['online', 'grace', 'offline']);
  });

  it('leaves out a reconnect inside the flush window: no flap', async () => {
    const alice = await aliceSeesBobLeave();
    await connect('bob');
    await flush(alice);
    expect(changesFor(alice, 'bob')).toEqual(['online']);
  });

  it('returns a user from grace to online with no offline in between', async () => {
    const alice = await aliceSeesBobLeave();
    await flush(alice);
    vi.advanceTimersByTime(GRACE_MS / 2);
    await connect('bob');
    await flush(alice);
    vi.advanceTimersByTime(GRACE_MS);
    await flush(alice);
    expect(changesFor(alice, 'bob')).toEqual(['online', 'grace', 'online']);
  });

  it('shows a logged-out user offline at once, without a grace period', async () => {
    await start();
    const alice = await connect('alice');
    const { token } = await node.login('bob');
    const bob = await TestClient.connect(node.wsUrl, bearer(token));
    clients.push(bob);
    await flush(alice);
    await fetch(`${node.url}/logout/bob`, { headers: bearer(token) });
    await bob.waitClosed();
    await flush(alice);
    expect(changesFor(alice, 'bob')).toEqual(['online', 'offline']);
  });

  it('drops a login that never opens a socket after the grace period, never listing it', async () => {
    await start();
    const alice = await connect('alice');
    await node.login('ghost');
    expect(node.node.runtime.userActorState('ghost')).toBe('connecting');
    vi.advanceTimersByTime(GRACE_MS);
    await flush(alice);
    expect(node.node.runtime.userActorState('ghost')).toBeUndefined();
    expect(changesFor(alice, 'ghost')).toEqual([]);
  });
});

describe('presence in watch mode', () => {
  it('pushes a socket only the changes of the users it watches, starting with where they stand', async () => {
    await start({ CHAT_PRESENCE: 'watch' });
    const alice = await connect('alice');
    await connect('carol');
    alice.send({ type: 'watch', users: ['bob'] });
    expect(await alice.nextOfType('presence')).toEqual({ type: 'presence', changes: [{ user: 'bob', status: 'offline' }] });
    const bob = await connect('bob');
    await flush(alice);
    await bob.close();
    await flush(alice);
    alice.send({ type: 'unwatch', users: ['bob'] });
    await connect('bob');
    await flush(alice);
    expect(changesFor(alice, 'bob')).toEqual(['offline', 'online', 'grace']);
    expect(changesFor(alice, 'carol')).toEqual([]);
  });

  it('still answers list-users and lists users in the welcome', async () => {
    await start({ CHAT_PRESENCE: 'watch' });
    await connect('bob');
    const alice = await connect('alice');
    alice.send({ type: 'list-users' });
    expect((await alice.nextOfType('users')).users).toEqual([
      { name: 'alice', status: 'online' },
      { name: 'bob', status: 'online' },
    ]);
  });
});
