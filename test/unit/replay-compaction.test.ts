/**
 * `npm run replay` on a journal compacted online (src/inspect/replay.ts, replay-restore.ts): the same history
 * journaled twice by the real runtime and file journal on one simulated clock, once compacted online in the middle
 * and once not, replays to the same actors, presence, sockets, sequence and state, with no divergence; a snapshot's
 * grace timers run for the time they had left; window copies before a snapshot are not replayed as new posts; a
 * snapshot without `at` and `graces` (a repair, an older node) still reads as a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { DomainEvent } from '../../src/domain/events.ts';
import { describeState } from '../../src/domain/state.ts';
import { FileJournal } from '../../src/journal/file.ts';
import { readJournalFile } from '../../src/journal/scan.ts';
import type { SnapshotRecord } from '../../src/journal/codec.ts';
import { replayJournal, type ReplayRecord, type ReplayResult } from '../../src/inspect/replay.ts';
import { ChatRuntime } from '../../src/runtime/chat-runtime.ts';
import type { SupervisorEvent } from '../../src/machines/supervisor.machine.ts';

const T = 1_764_000_000_000;
const GRACE_MS = 10_000;
const exp = T / 1000 + 3600;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'replay-compaction-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Logins, sockets and posts before the compaction: alice on two sockets, bob on one, carol and frank connecting, dave and gina in grace. */
const before: Array<SupervisorEvent | number> = [
  { type: 'LOGIN', user: 'frank', sid: 'f1', exp },
  { type: 'LOGIN', user: 'alice', sid: 'a1', exp },
  { type: 'SOCKET_OPEN', user: 'alice', sid: 'a1', socket: 1 },
  { type: 'SOCKET_OPEN', user: 'alice', sid: 'a1', socket: 2 },
  { type: 'LOGIN', user: 'bob', sid: 'b1', exp },
  { type: 'SOCKET_OPEN', user: 'bob', sid: 'b1', socket: 3 },
  { type: 'LOGIN', user: 'gina', sid: 'g1', exp },
  { type: 'SOCKET_OPEN', user: 'gina', sid: 'g1', socket: 4 },
  { type: 'SOCKET_CLOSE', user: 'gina', socket: 4 },
  2_000,
  { type: 'POST_GROUP', from: 'alice', text: 'hello', cid: 'x1', socket: 1 },
  { type: 'POST_DIRECT', from: 'bob', to: 'gina', text: 'still there?', socket: 3 },
  { type: 'LOGIN', user: 'dave', sid: 'd1', exp },
  { type: 'SOCKET_OPEN', user: 'dave', sid: 'd1', socket: 5 },
  { type: 'SOCKET_CLOSE', user: 'dave', socket: 5 },
  { type: 'LOGIN', user: 'carol', sid: 'c1', exp },
  1_000,
];

/** After it: frank's and gina's timers run out (frank unlisted, gina offline), dave comes back, bob logs out, erin passes through. */
const after: Array<SupervisorEvent | number> = [
  3_000,
  { type: 'POST_GROUP', from: 'bob', text: 'after the compaction', socket: 3 },
  { type: 'SOCKET_CLOSE', user: 'alice', socket: 2 },
  { type: 'SOCKET_OPEN', user: 'dave', sid: 'd1', socket: 6 },
  4_500, // frank's login was 10.5 s ago, gina's grace began 10.5 s ago
  { type: 'LOGOUT', user: 'bob', sid: 'b1', exp },
  { type: 'SOCKET_CLOSE', user: 'bob', socket: 3 },
  { type: 'LOGIN', user: 'erin', sid: 'e1', exp },
  { type: 'SOCKET_OPEN', user: 'erin', sid: 'e1', socket: 7 },
  { type: 'POST_DIRECT', from: 'erin', to: 'dave', text: 'welcome back', socket: 7 },
  { type: 'SOCKET_CLOSE', user: 'erin', socket: 7 },
  { type: 'EXPIRE_SESSIONS' },
];

const silent = pino({ level: 'silent' });

/** A logger for the journal, and the log line of its next finished compaction. */
function compactionLog() {
  let compacted: (line: Record<string, unknown>) => void = () => {};
  const done = new Promise<Record<string, unknown>>((resolve) => (compacted = resolve));
  const logger = pino({ level: 'info' }, { write: (line: string) => JSON.parse(line).msg === 'journal compacted online' && compacted(JSON.parse(line)) });
  return { logger, done };
}

/** The real file journal and runtime on `clock`; the journal compacts past `maxBytes`. */
function openNode(path: string, clock: SimulatedClock, maxBytes: number, logger = silent) {
  const now = () => clock.now();
  const journal = new FileJournal({ path, fsync: 'never', fsyncMs: 1000, maxBytes, maxMessages: 100, maxAgeMs: 3_600_000, logger, now });
  const runtime = new ChatRuntime({ journal, graceMs: GRACE_MS, shardSize: 4, logger: silent, now, clock });
  const run = (steps: Array<SupervisorEvent | number>) => {
    for (const step of steps) {
      if (typeof step === 'number') clock.increment(step);
      else runtime.send(step);
    }
  };
  return { journal, runtime, run };
}

/** Runs the history on the real runtime and file journal; with `compact`, the journal compacts online between the two halves. */
async function journalHistory(name: string, compact: boolean) {
  const path = join(dir, name);
  const clock = new SimulatedClock();
  clock.set(T);
  const { logger, done } = compactionLog();
  // maxBytes 1: the first append asks for a compaction, which runs once the first half (all in one turn) is in.
  const { journal, runtime, run } = openNode(path, clock, compact ? 1 : 1 << 30, logger);
  await runtime.start();
  run(before);
  if (compact) expect(await done).toMatchObject({ appendsDuring: 0 });
  run(after);
  const live = { state: describeState(runtime.state), actors: Object.fromEntries(['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina'].map((u) => [u, runtime.userActorState(u) ?? 'none'])) };
  await runtime.stop();
  await journal.close();
  return { path, live, records: readJournalFile(path).events as ReplayRecord[] };
}

const replay = (records: Iterable<ReplayRecord>): ReplayResult => replayJournal(records, { graceMs: GRACE_MS, shardSize: 4 });
/** The users with an actor, a place in the presence list or a socket, without the sessions column. */
const actorRows = (result: ReplayResult) =>
  result.users.filter((u) => u.actor !== 'none' || u.presence !== 'offline' || u.sockets > 0).map(({ sessions: _sessions, ...user }) => user);

describe('replay of a journal compacted online', () => {
  it('reports what the same history uncompacted reports: actors, presence, sockets, sequence, state; no divergence', async () => {
    const plain = await journalHistory('plain.log', false);
    const compacted = await journalHistory('compacted.log', true);
    const snapshots = compacted.records.filter((record): record is SnapshotRecord => record.type === 'Snapshot');
    expect(snapshots).toHaveLength(1);
    const due = T + GRACE_MS;
    expect(snapshots[0]).toMatchObject({ at: T + 3000, state: { presence: [['alice', 'online'], ['bob', 'online'], ['dave', 'grace'], ['gina', 'grace']] } });
    expect(new Map(snapshots[0]!.graces)).toEqual(new Map([['frank', due], ['gina', due], ['dave', due + 2000], ['carol', due + 2000]]));
    expect(compacted.records.slice(0, 2).map((record) => record.type)).toEqual(['GroupMessagePosted', 'DirectMessagePosted']);
    expect(plain.live).toEqual(compacted.live);

    const fromPlain = replay(plain.records);
    const fromCompacted = replay(compacted.records);
    expect(fromPlain.divergences).toEqual([]);
    expect(fromCompacted.divergences).toEqual([]);
    expect([fromPlain.restarts, fromPlain.compactions, fromCompacted.restarts, fromCompacted.compactions]).toEqual([0, 0, 0, 1]);
    expect(actorRows(fromCompacted)).toEqual(actorRows(fromPlain));
    expect(fromCompacted.supervisor).toEqual(fromPlain.supervisor);
    expect(fromCompacted.state).toEqual(fromPlain.state);
    expect(fromCompacted.endedAt).toBe(fromPlain.endedAt);
    // Both are the live node's: its state and each user's actor.
    expect(fromPlain.state).toEqual(plain.live.state);
    const actors = Object.fromEntries(fromCompacted.users.map((u) => [u.user, u.actor]));
    expect({ ...Object.fromEntries(Object.keys(compacted.live.actors).map((u) => [u, 'none'])), ...actors }).toEqual(compacted.live.actors);
    expect(fromCompacted.users.map((u) => [u.user, u.actor, u.presence, u.sockets, u.sessions])).toEqual([
      ['alice', 'online', 'online', 1, 0],
      ['carol', 'connecting', 'offline', 0, 0],
      ['dave', 'online', 'online', 1, 0],
      ['erin', 'grace', 'grace', 0, 1],
    ]);
    // Sessions: the compaction dropped the starts before it (the node keeps no session table); only erin's came after.
    expect(fromPlain.users.map((u) => [u.user, u.sessions])).toEqual([
      ['alice', 1],
      ['carol', 1],
      ['dave', 1],
      ['erin', 1],
      ['frank', 1],
      ['gina', 1],
    ]);
    expect([fromPlain.sessionsSince, fromCompacted.sessionsSince]).toEqual([undefined, T + 3000]);
    // The node starts on the compacted file as on the plain one.
    const reopened = new FileJournal({ path: compacted.path, fsync: 'never', fsyncMs: 1000, maxBytes: 1 << 30, maxMessages: 100, maxAgeMs: 1e13, logger: silent });
    expect(describeState(reopened.rebuild())).toEqual(plain.live.state);
    await reopened.close();
  });

  it('a compaction before the node started (recovered) writes a restart snapshot: one restart, no divergence', async () => {
    const path = join(dir, 'events.log');
    const clock = new SimulatedClock();
    clock.set(T);
    // The previous process: alice online, gina in grace; then it dies (nothing drained).
    const previous = openNode(path, clock, 1 << 30);
    await previous.runtime.start();
    previous.run(before.slice(0, 9));
    await previous.runtime.stop();
    await previous.journal.close();
    clock.increment(60_000);
    // The next one compacts in the turn after its journal opens, before `start` recovers what the old one left.
    const { logger, done } = compactionLog();
    const next = openNode(path, clock, 1, logger);
    await done;
    await next.runtime.start();
    await next.runtime.stop();
    await next.journal.close();
    const records = readJournalFile(path).events as ReplayRecord[];
    const snapshot = records.find((record): record is SnapshotRecord => record.type === 'Snapshot');
    expect(snapshot).toBeDefined();
    expect(snapshot).not.toHaveProperty('at');
    expect(snapshot!.state.presence).toEqual([['alice', 'online'], ['bob', 'online'], ['gina', 'grace']]);
    const result = replay(records);
    expect([result.restarts, result.compactions, result.divergences]).toEqual([1, 0, []]);
    expect(result.supervisor).toMatchObject({ listed: 0, liveUserActors: 0 });
  });

  const online: SnapshotRecord = {
    type: 'Snapshot',
    state: { seq: 7, online: 1, presence: [['alice', 'online'], ['gina', 'grace']], sockets: [['alice', 1]], revoked: [], identities: [], sessionsCutoff: 0 },
    at: T,
    graces: [['gina', T + 4_000]],
  };
  const window: DomainEvent[] = [
    { type: 'GroupMessagePosted', id: 6, from: 'alice', text: 'six', ts: T - 20 },
    { type: 'GroupMessagePosted', id: 7, from: 'alice', text: 'seven', ts: T - 10 },
  ];

  it("runs a grace timer for the time it had left at the snapshot, and rebuilds actors the user machine's way", () => {
    const gone: DomainEvent = { type: 'PresenceChanged', user: 'gina', status: 'offline', previous: 'grace', at: T + 4_000 };
    const result = replay([...window, online, gone, { type: 'GroupMessagePosted', id: 8, from: 'alice', text: 'eight', ts: T + 5_000 }]);
    expect(result.divergences).toEqual([]);
    expect([result.restarts, result.compactions, result.supervisor.seq]).toEqual([0, 1, 8]);
    expect(result.users).toMatchObject([{ user: 'alice', actor: 'online', presence: 'online', sockets: 1, snapshot: { value: 'online', context: { user: 'alice', sockets: 1 } } }]);
    // A full grace from the snapshot would still be running at T + 4 s: the journal's offline would then read as a restart.
    const late = replay([online, { ...gone, at: T + 3_999 }]);
    expect(late.restarts).toBe(1);
  });

  it('reconnects a user in grace at the snapshot with no flap: online again from grace', () => {
    const back: DomainEvent[] = [
      { type: 'SocketOpened', user: 'gina', socket: 9, at: T + 1_000 },
      { type: 'PresenceChanged', user: 'gina', status: 'online', previous: 'grace', at: T + 1_000 },
    ];
    const result = replay([online, ...back]);
    expect(result.divergences).toEqual([]);
    expect(result.users.map((u) => [u.user, u.actor, u.presence, u.sockets])).toEqual([
      ['alice', 'online', 'online', 1],
      ['gina', 'online', 'online', 1],
    ]);
  });

  it('a snapshot without at and graces (a repair, an older node) is still a restart; a window copy past its sequence is reported', () => {
    const { at: _at, graces: _graces, ...older } = online;
    const result = replay([...window, older]);
    expect([result.restarts, result.compactions, result.divergences]).toEqual([1, 0, []]);
    expect(result.users.map((u) => [u.user, u.actor])).toEqual([
      ['alice', 'none'],
      ['gina', 'none'],
    ]);
    const beyond = replay([...window, { type: 'GroupMessagePosted', id: 9, from: 'alice', text: 'nine', ts: T - 5 }, online]);
    expect(beyond.divergences).toEqual([expect.stringMatching(/^journal: .*"id":9.* before a snapshot whose sequence is 7$/)]);
  });

  it('reports a snapshot the machines cannot be in', () => {
    const result = replay([{ ...online, graces: [] }]);
    expect(result.divergences).toEqual(['snapshot: gina is grace with no grace timer']);
  });
});
