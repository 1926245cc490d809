/**
 * @module inspect/replay
 * Replays a journal through the machines, deterministically: each recorded fact becomes the command
 * that produced it (`SessionStarted` → `LOGIN`, `SocketOpened` → `SOCKET_OPEN`, …) and goes to a fresh
 * supervisor with the real shard and user machines, on a simulated clock moved to each record's time,
 * so grace periods end exactly when they were due. Facts the actors produce themselves (presence
 * changes, the recovery after a restart) are not sent: the replay produces them again and checks them
 * against the journal. The result is every actor's state, for printing or for the visualizer.
 *
 * Snapshots: one an online compaction wrote (it carries its time and grace timers: journal/codec.ts) is
 * where the running node's state continues — the replay rebuilds the supervisor and its user actors in the
 * states it describes (inspect/replay-restore.ts); the messages before it are its history window's copies.
 * A snapshot without them (a repair, or an older node) is read as a restart.
 */
import { createSupervisorActor, type GraceTimers, type SupervisorActor } from '../runtime/supervisor-actor.ts';
import { SimulatedClock, type InspectionEvent, type Snapshot } from 'xstate';
import { isMessageEvent, type DomainEvent, type MessageEvent } from '../domain/events.ts';
import { createChatState, describeState, type ChatState } from '../domain/state.ts';
import { cloneState, fromSnapshot } from '../domain/snapshot.ts';
import { writtenOnline, type SnapshotRecord } from '../journal/codec.ts';
import { userActorOf, type SupervisorEvent } from '../machines/supervisor.machine.ts';
import { restoreFromOnlineSnapshot } from './replay-restore.ts';

export type ReplayRecord = DomainEvent | SnapshotRecord;

export interface ReplayOptions {
  graceMs: number;
  shardSize: number;
  inspect?: (event: InspectionEvent) => void;
}

export interface UserActorState {
  user: string;
  /** The user actor's state, or `none` when it has no live actor. */
  actor: string;
  presence: 'online' | 'grace' | 'offline';
  sockets: number;
  /** Sessions the journal shows started and not yet ended or expired (the replay's own count: the node keeps no such table). */
  sessions: number;
  /** `actor.getPersistedSnapshot()`: restore it with `createActor(userMachine, { snapshot })`. */
  snapshot: unknown;
}

export interface ReplayResult {
  records: number;
  /** Node restarts seen in the journal (a recovery, or a snapshot written offline or by an older node). */
  restarts: number;
  /** Snapshots a running node's online compaction wrote: the replay went on from each, its actors rebuilt, not restarted. */
  compactions: number;
  /**
   * The time of the last online compaction, when there was one: it dropped the `SessionStarted` records before it
   * (the node keeps no session table to write into the snapshot), so the sessions counted are those started since.
   */
  sessionsSince?: number;
  supervisor: { value: string; seq: number; online: number; listed: number; shards: number; liveUserActors: number };
  users: UserActorState[];
  state: ReturnType<typeof describeState>;
  /** Journal records the machines did not reproduce, and facts the machines produced that the journal lacks. */
  divergences: string[];
  /** Simulated time at the end (the last record's time). */
  endedAt: number;
}

type Supervisor = SupervisorActor;

/** Facts compared between the journal and the replay: everything but the wall-clock times. */
const comparable = (event: DomainEvent): string => {
  const { at: _at, ...rest } = event as DomainEvent & { at?: number };
  return JSON.stringify(rest);
};

const timeOf = (record: ReplayRecord): number | undefined =>
  record.type === 'Snapshot' ? undefined : 'at' in record ? record.at : 'ts' in record ? record.ts : undefined;

export function replayJournal(records: Iterable<ReplayRecord>, options: ReplayOptions): ReplayResult {
  const clock = new SimulatedClock();
  const divergences: string[] = [];
  /** Facts the machines produced and the journal has not shown yet, in order. */
  const produced: DomainEvent[] = [];
  let actor: Supervisor | undefined;
  let timers: GraceTimers | undefined;
  let count = 0;
  let restarts = 0;
  let compactions = 0;
  /** A restart's snapshot was just read: the recovery journaled after it is that same restart. */
  let restartRead = false;
  let sessionsSince: number | undefined;
  /** Open sessions by id, counted from the records themselves for the report (the fold keeps none). */
  const sessions = new Map<string, { user: string; exp: number }>();
  /** The journal's leading message records, held until the next record says whether they are a compaction's window copies. */
  let leading: MessageEvent[] | undefined = [];

  const start = (chat: ChatState, snapshot?: Snapshot<unknown>): Supervisor => {
    actor?.stop();
    timers?.clear();
    const next = createSupervisorActor({
      chat,
      graceMs: options.graceMs,
      shardSize: options.shardSize,
      now: () => clock.now(),
      record: (event) => void produced.push(event),
      timers: clock,
      clock,
      ...(snapshot ? { snapshot } : {}),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    timers = next.timers;
    next.actor.start();
    return next.actor;
  };
  actor = start(createChatState());

  const snapshotRead = (record: SnapshotRecord): Supervisor => {
    if (!writtenOnline(record)) {
      // Written offline (a repair), at start-up before the recovery, or by an older node: the state at a restart.
      restarts += 1;
      restartRead = true;
      return start(fromSnapshot(record.state));
    }
    // The node went on running: its state, actors and grace timers continue from here.
    compactions += 1;
    restartRead = false;
    sessionsSince = record.at;
    if (record.at > clock.now()) advanceTo(clock, record.at);
    const restored = restoreFromOnlineSnapshot(record, { graceMs: options.graceMs, shardSize: options.shardSize, now: () => clock.now() });
    divergences.push(...restored.problems);
    const next = start(fromSnapshot(record.state), restored.snapshot);
    for (const { user, due } of restored.graces) timers!.actions.armGrace(undefined, { user, ms: Math.max(0, due - clock.now()) });
    return next;
  };

  const step = (record: DomainEvent): void => {
    followSessions(sessions, record);
    const at = timeOf(record);
    if (at !== undefined && at > clock.now()) advanceTo(clock, at);
    if (matchProduced(produced, record)) return;
    const recovery = (record.type === 'SocketClosed' && record.socket === 0) || (record.type === 'PresenceChanged' && record.status === 'offline');
    if (recovery) {
      // The recovery a restarted node journals for sockets the previous process left open.
      if (!restartRead) restarts += 1;
      restartRead = false;
      actor = start(cloneState(actor!.getSnapshot().context.chat));
      actor.send({ type: 'RECOVER' });
      if (!matchProduced(produced, record)) divergences.push(`journal: ${comparable(record)} — the replay's recovery did not produce it`);
      return;
    }
    restartRead = false;
    const command = commandFor(record, actor!.getSnapshot().context.chat);
    if (command === undefined) {
      divergences.push(`journal: ${comparable(record)} — not produced by the machines at this point`);
      return;
    }
    if (command === 'skip') return;
    actor!.send(command);
    if (!matchProduced(produced, record)) divergences.push(`journal: ${comparable(record)} — the command ${command.type} produced ${produced.map(comparable).join(', ') || 'nothing'}`);
  };

  for (const record of records) {
    count += 1;
    if (leading !== undefined) {
      if (record.type !== 'Snapshot' && isMessageEvent(record)) {
        leading.push(record);
        continue;
      }
      const held = leading;
      leading = undefined;
      // Before a snapshot they are the history window a compaction copied (the snapshot holds their sequence).
      if (record.type === 'Snapshot') divergences.push(...windowCopiesBeyond(held, record));
      else held.forEach(step);
    }
    if (record.type === 'Snapshot') actor = snapshotRead(record);
    else step(record);
  }
  leading?.forEach(step);
  for (const event of produced.splice(0)) divergences.push(`replay: ${comparable(event)} — produced by the machines, missing from the journal`);
  const counts = { records: count, restarts, compactions, ...(sessionsSince !== undefined ? { sessionsSince } : {}) };
  return describeResult(actor, counts, divergences, clock.now(), sessions);
}

/** Window copies a snapshot's sequence does not cover: the snapshot cannot be the fold of the journal they came from. */
function windowCopiesBeyond(window: MessageEvent[], snapshot: SnapshotRecord): string[] {
  return window.filter((message) => message.id > snapshot.state.seq).map((message) => `journal: ${comparable(message)} — before a snapshot whose sequence is ${snapshot.state.seq}`);
}

function followSessions(sessions: Map<string, { user: string; exp: number }>, record: DomainEvent): void {
  if (record.type === 'SessionStarted') sessions.set(record.sid, { user: record.user, exp: record.exp });
  else if (record.type === 'SessionEnded') sessions.delete(record.sid);
  else if (record.type === 'SessionsExpired') for (const [sid, session] of sessions) if (session.exp <= record.at / 1000) sessions.delete(sid);
}

/**
 * Takes the journal record out of what the machines produced, when it is there. Not only at the front:
 * a real timer fires a little after it is due, so a grace expiry may sit a few records later in the
 * journal than in the replay.
 */
function matchProduced(produced: DomainEvent[], record: DomainEvent): boolean {
  const wanted = comparable(record);
  const index = produced.findIndex((event) => comparable(event) === wanted);
  if (index === -1) return false;
  produced.splice(index, 1);
  return true;
}

/** The command that made the node journal `record`; `skip` for a message already folded; undefined for derived facts. */
function commandFor(record: DomainEvent, chat: ChatState): SupervisorEvent | 'skip' | undefined {
  switch (record.type) {
    case 'SessionStarted':
      return { type: 'LOGIN', user: record.user, sid: record.sid, exp: record.exp };
    case 'SessionEnded':
      return { type: 'LOGOUT', user: record.user, sid: record.sid, exp: record.exp };
    case 'IdentityBound':
      return { type: 'BIND_IDENTITY', user: record.user, issuer: record.issuer, subject: record.subject };
    case 'SocketOpened':
      // The journal keeps no session id for a socket: it was accepted, so its session was not revoked.
      return { type: 'SOCKET_OPEN', user: record.user, sid: `replay-socket-${record.socket}`, socket: record.socket };
    case 'SocketClosed':
      return { type: 'SOCKET_CLOSE', user: record.user, socket: record.socket };
    case 'SessionsExpired':
      return { type: 'EXPIRE_SESSIONS' };
    case 'GroupMessagePosted':
    case 'DirectMessagePosted': {
      if (record.id <= chat.seq) return 'skip'; // a history-window copy after compaction
      const base = { from: record.from, text: record.text, socket: 0, ...(record.cid !== undefined ? { cid: record.cid } : {}) };
      return record.type === 'GroupMessagePosted' ? { type: 'POST_GROUP', ...base } : { type: 'POST_DIRECT', to: record.to, ...base };
    }
    case 'PresenceChanged':
      return undefined;
  }
}

/** Moves the clock to `target`, firing each timer at its own due time (so the facts it journals carry that time). */
function advanceTo(clock: SimulatedClock, target: number): void {
  const timeouts = (clock as unknown as { timeouts: Map<number, { start: number; timeout: number }> }).timeouts;
  for (;;) {
    let due = Infinity;
    for (const { start, timeout } of timeouts.values()) due = Math.min(due, start + timeout);
    if (due > target) break;
    clock.set(Math.max(due, clock.now()));
  }
  clock.set(target);
}

function describeResult(
  actor: Supervisor,
  counts: Pick<ReplayResult, 'records' | 'restarts' | 'compactions' | 'sessionsSince'>,
  divergences: string[],
  endedAt: number,
  sessions: ReadonlyMap<string, { user: string }>,
): ReplayResult {
  const snapshot = actor.getSnapshot();
  const { chat, placement } = snapshot.context;
  const names = new Set<string>([...placement.users(), ...chat.presence.keys(), ...chat.sockets.keys(), ...[...sessions.values()].map((s) => s.user)]);
  const users = [...names].sort().map((user): UserActorState => {
    const child = userActorOf(snapshot, user);
    return {
      user,
      actor: child ? String(child.getSnapshot().value) : 'none',
      presence: chat.presence.get(user) ?? 'offline',
      sockets: chat.sockets.get(user) ?? 0,
      sessions: [...sessions.values()].filter((session) => session.user === user).length,
      snapshot: child?.getPersistedSnapshot(),
    };
  });
  return {
    ...counts,
    supervisor: {
      value: String(snapshot.value),
      seq: chat.seq,
      online: chat.online,
      listed: chat.presence.size,
      shards: placement.shards,
      liveUserActors: placement.size,
    },
    users,
    state: describeState(chat),
    divergences,
    endedAt,
  };
}
