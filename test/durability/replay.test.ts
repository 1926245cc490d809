/**
 * Journal replay (`npm run replay`): a journal written by a real node over real sockets, replayed
 * through the machines, gives the live node's actor states and chat state, across a restart too; a
 * hand-written JSON-lines journal replays deterministically, grace periods included; the script
 * prints the actors and exports a snapshot the user machine can be restored from.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import type { DomainEvent } from '../../src/domain/events.ts';
import { describeState } from '../../src/domain/state.ts';
import { replayJournal } from '../../src/inspect/replay.ts';
import { userMachine } from '../../src/machines/user.machine.ts';
import { loadJournal } from '../../scripts/replay.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GRACE_MS = 10_000;
let dir: string;
const clients: TestClient[] = [];
const nodes: TestNode[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'actor-chat-replay-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const node of nodes.splice(0)) await node.close();
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

async function fileNode(path: string): Promise<TestNode> {
  const node = await startTestNode({ CHAT_JOURNAL: `file:${path}`, CHAT_JOURNAL_FSYNC: 'never', CHAT_GRACE_MS: String(GRACE_MS), CHAT_LOG_LEVEL: 'warn' });
  nodes.push(node);
  return node;
}

async function connect(node: TestNode, user: string): Promise<TestClient> {
  const client = await TestClient.connect(node.wsUrl, bearer((await node.login(user)).token));
  clients.push(client);
  await client.nextOfType('welcome');
  return client;
}

function expectReplayMatches(node: TestNode, path: string, users: string[]): ReturnType<typeof replayJournal> {
  const result = replayJournal(loadJournal(path).records, { graceMs: GRACE_MS, shardSize: 128 });
  expect(result.divergences).toEqual([]);
  expect(result.state).toEqual(describeState(node.node.runtime.state as never));
  for (const user of users) {
    expect(result.users.find((u) => u.user === user)?.actor ?? 'none', user).toBe(node.node.runtime.userActorState(user) ?? 'none');
  }
  return result;
}

/** A moment the hand-written journals start at. */
const T = 1_764_000_000_000;

/** What a node journals when alice logs in at `T` and opens her socket 1 at `openedAt`: session, socket, online. */
function aliceLogsInAndConnects(openedAt: number): DomainEvent[] {
  return [
    { type: 'SessionStarted', sid: 's1', user: 'alice', exp: T / 1000 + 3600, at: T },
    { type: 'SocketOpened', user: 'alice', socket: 1, at: openedAt },
    { type: 'PresenceChanged', user: 'alice', status: 'online', previous: 'offline', at: openedAt },
  ];
}

describe('journal replay', () => {
  it('rebuilds the live actor states from a journal a real node wrote over real sockets', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const path = join(dir, 'events.log');
    const node = await fileNode(path);
    const alice = await connect(node, 'alice');
    const aliceTab = await connect(node, 'alice');
    const bob = await connect(node, 'bob');
    alice.send({ type: 'message', text: 'hello', cid: 'a1' });
    await alice.next((f) => f.cid === 'a1');
    bob.send({ type: 'direct', to: 'alice', text: 'psst', cid: 'b1' });
    await bob.next((f) => f.cid === 'b1');
    await aliceTab.close();
    await bob.close();
    vi.advanceTimersByTime(GRACE_MS); // bob: grace → offline
    await new Promise((resolve) => setImmediate(resolve)); // let timer-started I/O finish before connecting again
    const carolToken = (await node.login('carol')).token; // carol: logged in, no socket
    const dave = await connect(node, 'dave');
    await dave.close(); // dave: grace, still
    await fetch(`${node.url}/logout/carol`, { headers: bearer(carolToken) });
    await alice.sync();

    const result = expectReplayMatches(node, path, ['alice', 'bob', 'carol', 'dave']);
    expect(result.users.map((u) => [u.user, u.actor, u.presence, u.sockets])).toEqual([
      ['alice', 'online', 'online', 1],
      ['bob', 'none', 'offline', 0],
      ['dave', 'grace', 'grace', 0],
    ]);
    expect(result.supervisor).toMatchObject({ value: 'running', seq: 2, listed: 2, online: 1 });
  });

  it('follows a restart: the recovery the new process journaled is reproduced, and the actors after it', async () => {
    const path = join(dir, 'events.log');
    const first = await fileNode(path);
    await connect(first, 'alice');
    await connect(first, 'bob');
    nodes.splice(0);
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await first.close();
    const second = await fileNode(path);
    const carol = await connect(second, 'carol');
    carol.send({ type: 'message', text: 'after the restart', cid: 'c1' });
    await carol.next((f) => f.cid === 'c1');

    const result = expectReplayMatches(second, path, ['alice', 'bob', 'carol']);
    expect(result.restarts).toBe(1);
    // alice and bob still hold sessions, but the restart left them without an actor, offline.
    expect(result.users.map((u) => [u.user, u.actor, u.presence])).toEqual([
      ['alice', 'none', 'offline'],
      ['bob', 'none', 'offline'],
      ['carol', 'online', 'online'],
    ]);
  });

  it('replays a hand-written JSON-lines journal deterministically, grace periods on the simulated clock', () => {
    const events: DomainEvent[] = [
      ...aliceLogsInAndConnects(T + 5),
      { type: 'GroupMessagePosted', id: 1, from: 'alice', text: 'hi', ts: T + 9, cid: 'x' },
      { type: 'SocketClosed', user: 'alice', socket: 1, at: T + 20 },
      { type: 'PresenceChanged', user: 'alice', status: 'grace', previous: 'online', at: T + 20 },
      { type: 'PresenceChanged', user: 'alice', status: 'offline', previous: 'grace', at: T + 20 + GRACE_MS + 3 },
      { type: 'SessionStarted', sid: 's2', user: 'bob', exp: T / 1000 + 3600, at: T + 30_000 },
    ];
    const path = join(dir, 'plain.jsonl');
    writeFileSync(path, `${events.map((event) => JSON.stringify(event)).join('\n')}\n`);
    const once = replayJournal(loadJournal(path).records, { graceMs: GRACE_MS, shardSize: 2 });
    const again = replayJournal(loadJournal(path).records, { graceMs: GRACE_MS, shardSize: 2 });
    expect(JSON.stringify(once)).toBe(JSON.stringify(again));
    expect(once.divergences).toEqual([]);
    expect(once.users.map((u) => [u.user, u.actor, u.presence, u.sessions])).toEqual([
      ['alice', 'none', 'offline', 1],
      ['bob', 'connecting', 'offline', 1],
    ]);
    expect(once.endedAt).toBe(T + 30_000);
  });

  it('recognises the recovery of a node that was killed with sockets open', () => {
    const records: DomainEvent[] = [
      ...aliceLogsInAndConnects(T + 1),
      // SIGKILL; the next process's RECOVER:
      { type: 'SocketClosed', user: 'alice', socket: 0, at: T + 60_000 },
      { type: 'PresenceChanged', user: 'alice', status: 'offline', previous: 'online', at: T + 60_000 },
      { type: 'SocketOpened', user: 'alice', socket: 1, at: T + 61_000 },
      { type: 'PresenceChanged', user: 'alice', status: 'online', previous: 'offline', at: T + 61_000 },
    ];
    const result = replayJournal(records, { graceMs: GRACE_MS, shardSize: 128 });
    expect(result.divergences).toEqual([]);
    expect(result.restarts).toBe(1);
    expect(result.users).toMatchObject([{ user: 'alice', actor: 'online', presence: 'online', sockets: 1 }]);
  });

  it('reports what the machines would not have done', () => {
    const records: DomainEvent[] = [
      { type: 'SessionStarted', sid: 's1', user: 'alice', exp: T / 1000 + 3600, at: T },
      // Nobody opened a socket: the machines never put alice online.
      { type: 'PresenceChanged', user: 'alice', status: 'online', previous: 'offline', at: T + 1 },
      { type: 'DirectMessagePosted', id: 1, from: 'bob', to: 'alice', text: 'hi', ts: T + 2 },
    ];
    const result = replayJournal(records, { graceMs: GRACE_MS, shardSize: 128 });
    expect(result.divergences).toHaveLength(2);
    expect(result.divergences[0]).toMatch(/^journal: .*"PresenceChanged".*not produced by the machines/);
    expect(result.divergences[1]).toMatch(/^journal: .*"DirectMessagePosted".*POST_DIRECT produced nothing/);
  });

  it('npm run replay prints the actors and --out writes a snapshot the user machine restores from', async () => {
    const path = join(dir, 'events.jsonl');
    const out = join(dir, 'snapshot.json');
    const lines = aliceLogsInAndConnects(T + 1);
    writeFileSync(path, lines.map((line) => JSON.stringify(line)).join('\n'));
    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', path, '--out', out], { cwd: ROOT });
    expect(run.stdout).toContain('replayed 3 records (0 restarts, 0 online compactions)');
    expect(run.stdout).toMatch(/alice\s+online\s+online\s+1\s+1/);
    expect(run.stdout).toContain('the machines reproduced every journaled fact');
    const exported = JSON.parse(readFileSync(out, 'utf8')) as { users: Array<{ snapshot: unknown }>; machines: Record<string, { id: string }> };
    expect(Object.keys(exported.machines)).toEqual(['user', 'shard', 'supervisor']);
    const restored = createActor(userMachine, { snapshot: exported.users[0]!.snapshot as never, input: { user: 'alice' } });
    expect(restored.getSnapshot().value).toBe('online');
    expect(restored.getSnapshot().context.sockets).toBe(1);
  });
});
