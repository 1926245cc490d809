/**
 * @module inspect/replay
 * Replays a journal through the machines, deterministically: each recorded fact becomes the command
 * that produced it (`SessionStarted` → `LOGIN`, `SocketOpened` → `SOCKET_OPEN`, …) and goes to a fresh
 * supervisor with the real shard and user machines, on a simulated clock moved to each record's time,
 * so grace periods end exactly when they were due. Facts the actors produce themselves (presence
 * changes, the recovery after a restart) are not sent: the replay produces them again and checks them
 * against the journal. The result is every actor's state, for printing or for the visualizer.
 */
import { createSupervisorActor, type GraceTimers, type SupervisorActor } from '../runtime/supervisor-actor.ts';
import { SimulatedClock, type InspectionEvent } from 'xstate';
import type { DomainEvent } from '../domain/events.ts';
import { createChatState, describeState, type ChatState } from '../domain/state.ts';
import { cloneState, fromSnapshot, type StateSnapshot } from '../domain/snapshot.ts';
import { userActorOf, type SupervisorEvent } from '../machines/supervisor.machine.ts';

export type ReplayRecord = DomainEvent | { type: 'Snapshot'; state: StateSnapshot };

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
  /** Node restarts seen in the journal (a recovery or a compaction snapshot). */
  restarts: number;
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
  /** Open sessions by id, counted from the records themselves for the report (the fold keeps none). */
  const sessions = new Map<string, { user: string; exp: number }>();

  const start = (chat: ChatState): Supervisor => {
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
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    timers = next.timers;
    next.actor.start();
    return next.actor;
  };
  actor = start(createChatState());

  for (const record of records) {
    count += 1;
    if (record.type === 'Snapshot') {
      // Compaction on open: the checkpoint is the state at a restart.
      restarts += 1;
      actor = start(fromSnapshot(record.state));
      continue;
    }
    followSessions(sessions, record);
    const at = timeOf(record);
    if (at !== undefined && at > clock.now()) advanceTo(clock, at);
    if (matchProduced(produced, record)) continue;
    const recovery = (record.type === 'SocketClosed' && record.socket === 0) || (record.type === 'PresenceChanged' && record.status === 'offline');
    if (recovery) {
      // The recovery a restarted node journals for sockets the previous process left open.
      restarts += 1;
      actor = start(cloneState(actor.getSnapshot().context.chat));
      actor.send({ type: 'RECOVER' });
      if (!matchProduced(produced, record)) divergences.push(`journal: ${comparable(record)} — the replay's recovery did not produce it`);
      continue;
    }
    const command = commandFor(record, actor.getSnapshot().context.chat);
    if (command === undefined) {
      divergences.push(`journal: ${comparable(record)} — not produced by the machines at this point`);
      continue;
    }
    if (command === 'skip') continue;
    actor.send(command);
    if (!matchProduced(produced, record)) divergences.push(`journal: ${comparable(record)} — the command ${command.type} produced ${produced.map(comparable).join(', ') || 'nothing'}`);
  }
  for (const event of produced.splice(0)) divergences.push(`replay: ${comparable(event)} — produced by the machines, missing from the journal`);
  return describeResult(actor, count, restarts, divergences, clock.now(), sessions);
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
  records: number,
  restarts: number,
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
    records,
    restarts,
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
