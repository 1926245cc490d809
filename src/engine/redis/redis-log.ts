/**
 * @module engine/redis/redis-log
 * The `Log` port on Redis, for several nodes: proposals run the append script (dedupe, guard, id,
 * XADD) and every node tails the one stream in order. Each (re)connect is a new generation that runs
 * the steps in resume.ts before any append, then catches up with the log's top. Liveness is in
 * liveness.ts, the appends awaiting a verdict in in-flight.ts, the operators' counts in counters.ts.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { NodeId, ProposedEvent } from '../events.ts';
import { compareIds, firstGap, type Committed, type Log, type LogState, type Origin, type Proposal, type Verdict } from '../log.ts';
import { appendArgs, appendCommand, formatOrigin, keysFor, parseVerdict, type Keys } from './codec.ts';
import { loadRedis, openConnection, withConnection, type Connection, type RedisTarget } from './connection.ts';
import { InFlight, UNAVAILABLE } from './in-flight.ts';
import { Liveness } from './liveness.ts';
import { SCRIPTS } from './scripts.ts';
import type { EngineErrorKind, EngineStats } from '../engine-stats.ts';
import { LogCounters, readStreamTop } from './counters.ts';
import { resumeGeneration } from './resume.ts';
import { readSnapshot, readSnapshotId, registerThenRead, saveSnapshot, trimLog, type Snapshot, type TrimResult } from './snapshot.ts';
import { tail } from './tailer.ts';

export interface RedisLogOptions {
  target: RedisTarget;
  /** Liveness TTL (`CHAT_NODE_TTL_MS`): heartbeat every ttl/3, declared down after it. */
  ttlMs: number;
  logger: Logger;
  /** This process's incarnation; default host, pid and random bytes. */
  node?: NodeId;
  /** The keys' hash tag (default `chat`): one tag, one slot, one cluster shard. */
  tag?: string;
  /** Tail from after this id (a snapshot's id), default the log's start; `start(after)` overrides it. */
  after?: string;
}

export class RedisLog implements Log {
  readonly node: NodeId;
  readonly keys: Keys;
  private currentState: LogState = 'starting';
  private connection: Connection | undefined;
  private generation = 0;
  private epoch = '';
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lostTimer: NodeJS.Timeout | undefined;
  /** The last entry delivered: its id and raw origin (for the rollback check). */
  private applied: { id: string; origin: string | undefined };
  /** The log's top when this generation connected: ready once the tail is past it. */
  private catchUpTo = '0-0';
  private nextReq = 1;
  private readonly inFlight = new InFlight();
  private readonly committedListeners = new Set<(entries: readonly Committed[]) => void>();
  private readonly stateListeners = new Set<(state: LogState) => void>();
  private readonly liveness: Liveness;
  private readonly counters: LogCounters;
  /** From opening a generation until it is resumed (its failures count as `connect`). */
  private connecting = false;
  /** Entries this node never read were trimmed: a hole in its copy of the log; it stays `lost`. */
  private hole = false;
  /** When the current generation finished connecting (declaring others down waits 2 × TTL from it). */
  connectedAt = 0;
  lastTailReply = 0;

  constructor(private readonly options: RedisLogOptions) {
    this.node = options.node ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.keys = keysFor(options.tag ?? 'chat');
    this.applied = { id: options.after ?? '0-0', origin: undefined };
    this.liveness = new Liveness(this, options.ttlMs, options.logger);
    this.counters = new LogCounters(this.node);
  }

  /** What operators watch (read-only, cheap; bound, so `log.stats` can be handed on as is). */
  readonly stats = (): EngineStats => this.counters.stats(this.currentState, this.applied.id);

  get state(): LogState { return this.currentState; }
  get appliedId(): string { return this.applied.id; }

  /** Opens the first generation (`starting` → `ready` once caught up); `after` (a snapshot's id) starts the tail there. */
  start(after?: string): void {
    if (after !== undefined) this.applied = { id: after, origin: undefined };
    this.counters.startAt(this.applied.id);
    void this.open();
  }

  propose(event: ProposedEvent): Proposal {
    const origin: Origin = { node: this.node, req: this.nextReq++ };
    return { origin, verdict: this.append(event, origin) };
  }

  /**
   * Appends with a given origin: a retry with the same origin lands once and answers the first
   * verdict. `propose` is the normal way in; this is public for retries (and their tests).
   */
  append(event: ProposedEvent, origin: Origin): Promise<Verdict> {
    const connection = this.connection;
    if (this.currentState !== 'ready' || connection === undefined) return Promise.resolve(this.counters.counted(UNAVAILABLE));
    if ((event.type === 'UserAttached' || event.type === 'UserDetached') && event.node !== this.node) {
      throw new Error(`${event.type} names node ${event.node}: a node attaches and detaches only its own users`);
    }
    const low = Math.min(this.inFlight.lowest() ?? origin.req, origin.req);
    const verdict = this.inFlight.wait(origin.req).then((answer) => this.counters.counted(answer));
    const command = appendCommand(SCRIPTS.append.sha, this.keys, appendArgs(event, this.node), origin, this.epoch, low);
    connection.commands.sendCommand<string>(command).then(
      (reply) => this.inFlight.settle(origin.req, reply === 'x' ? UNAVAILABLE : parseVerdict(reply)),
      (error: unknown) => this.appendFailed(connection, origin.req, error as Error),
    );
    return verdict;
  }

  onCommitted(listener: (entries: readonly Committed[]) => void): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  onState(listener: (state: LogState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Stores the fold serialized after entry `id`; false (not stored) if the stored one is as new or newer. */
  async saveSnapshot(id: string, data: string): Promise<boolean> {
    return saveSnapshot(this.live(), this.keys, { id, data });
  }

  /** The id of the stored snapshot, without its data. */
  readonly snapshotId = (): Promise<string | undefined> => readSnapshotId(this.live().commands, this.keys);

  /**
   * The newest snapshot; before `start()` read over a short connection of its own, then `start(snapshot.id)`.
   * Read that way, it lists this node up holding the trim at the snapshot's id until its heartbeats take over.
   */
  async loadSnapshot(): Promise<Snapshot | undefined> {
    const { target, ttlMs } = this.options;
    if (this.connection) return readSnapshot(this.connection.commands, this.keys);
    return withConnection(target, ttlMs, (client) => registerThenRead(client, this.keys, this.node, ttlMs));
  }

  /**
   * Trims the log below the lowest of the snapshot's id, `windowFloor` (the history window's first id) and
   * the applied id of every node listed up (this node's own published first).
   */
  async trim(windowFloor: string): Promise<TrimResult> {
    return trimLog(this.live(), this.keys, windowFloor, { node: this.node, appliedId: this.applied.id, logger: this.options.logger });
  }

  async command<T>(args: readonly string[]): Promise<T> {
    return this.live().commands.sendCommand<T>(args);
  }

  private live(): Connection {
    if (this.connection === undefined) throw new Error('the engine is unavailable');
    return this.connection;
  }

  async close(): Promise<void> {
    this.generation += 1;
    this.liveness.stop();
    clearTimeout(this.retryTimer);
    clearTimeout(this.lostTimer);
    this.connection?.destroy();
    this.connection = undefined;
    this.inFlight.settleAll(UNAVAILABLE);
    this.setState('closed');
  }

  /** Drops the current generation (a broken or stalled link) and schedules the next one. */
  fail(generation: number, reason: Error, kind?: EngineErrorKind): void {
    if (generation !== this.generation || this.currentState === 'closed') return;
    this.counters.error(kind ?? (this.connecting ? 'connect' : 'link'));
    this.connecting = false;
    this.generation += 1;
    this.liveness.stop();
    // Whatever was sent on this connection may have committed: resolved by origin on reconnect.
    this.inFlight.markAllUncertain();
    this.connection?.destroy();
    this.connection = undefined;
    if (this.hole) return this.setState('lost');
    this.options.logger.warn({ node: this.node, err: reason }, 'engine connection lost');
    if (this.currentState === 'ready' || this.currentState === 'starting') this.setState('unavailable');
    this.lostTimer ??= setTimeout(() => this.currentState === 'unavailable' && this.setState('lost'), this.options.ttlMs);
    const delay = Math.min(25 * 2 ** this.attempts++, Math.max(this.options.ttlMs / 3, 25));
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }

  get currentGeneration(): number { return this.generation; }
  get currentConnection(): Connection | undefined { return this.connection; }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    const redis = await loadRedis();
    if (generation !== this.generation) return;
    this.connecting = true;
    // A stalled link accepts TCP and then answers nothing: bound the whole (re)connect.
    const deadline = setTimeout(() => this.fail(generation, new Error('connect timed out')), Math.max(2 * this.options.ttlMs, 2000));
    try {
      const { connection, connected } = openConnection(redis, this.options.target, this.options.ttlMs, (error) => this.fail(generation, error));
      this.connection = connection;
      await connected;
      const resumed = await resumeGeneration({
        connection, keys: this.keys, node: this.node, logger: this.options.logger, applied: this.applied, inFlight: this.inFlight,
        beat: (link) => this.liveness.beat(link),
      });
      if (generation !== this.generation) return;
      this.epoch = resumed.epoch;
      if (resumed.fenced) this.counters.fenced();
      this.catchUpTo = resumed.top.id;
      this.connecting = false;
      const missed = resumed.trimmed !== undefined && compareIds(resumed.trimmed, this.applied.id) > 0;
      this.counters.polled(resumed.top, this.applied.id);
      if (missed) return this.holed(generation, resumed.trimmed);
      this.attempts = 0;
      this.connectedAt = Date.now();
      this.liveness.start(generation);
      this.runTail(connection, generation);
      this.checkCaughtUp();
    } catch (error) {
      this.fail(generation, error as Error);
    } finally {
      clearTimeout(deadline);
    }
  }

  /** Reads the log's top for the lag (with every heartbeat); a failure here is the heartbeat's to notice. */
  async pollTop(connection: Connection): Promise<void> {
    const top = await readStreamTop(connection.commands, this.keys.log);
    if (connection === this.connection) this.counters.polled(top, this.applied.id);
  }

  /** Entries this node had not read were trimmed: its fold cannot be trusted; it stops for good. */
  private holed(generation: number, trimmed: string | undefined): void {
    this.hole = true;
    const reason = new Error(`the log was trimmed past entries this node had not read (it stands at ${this.applied.id}): restart it from the newest snapshot`);
    this.options.logger.error({ node: this.node, applied: this.applied.id, trimmed, err: reason }, 'this node missed trimmed log entries: it stops');
    this.fail(generation, reason, 'trimmed');
  }

  private runTail(connection: Connection, generation: number): void {
    this.lastTailReply = Date.now();
    void tail({
      client: connection.tail,
      key: this.keys.log,
      after: () => this.applied.id,
      blockMs: Math.max(Math.floor(this.options.ttlMs / 3), 10),
      batch: 1000,
      running: () => generation === this.generation,
      onReply: () => (this.lastTailReply = Date.now()),
      onError: (error, kind) => this.fail(generation, error, kind),
      onEntries: (entries) => this.deliver(entries),
    });
  }

  private deliver(entries: Committed[]): void {
    const unread = entries.filter((entry) => compareIds(entry.id, this.applied.id) > 0);
    // Entries follow each other densely (log.ts `follows`): a gap is a trim of entries this node never read.
    const gap = firstGap(this.applied.id, unread);
    const fresh = gap < 0 ? unread : unread.slice(0, gap);
    if (gap >= 0) queueMicrotask(() => this.holed(this.generation, undefined));
    const last = fresh[fresh.length - 1];
    if (last === undefined) return;
    this.applied = { id: last.id, origin: last.origin === undefined ? '' : formatOrigin(last.origin) };
    this.counters.delivered(fresh, last.id);
    for (const listener of this.committedListeners) listener(fresh);
    this.checkCaughtUp();
  }

  private checkCaughtUp(): void {
    if (this.currentState === 'ready' || this.currentState === 'closed' || this.connection === undefined) return;
    if (compareIds(this.applied.id, this.catchUpTo) < 0) return;
    clearTimeout(this.lostTimer);
    this.lostTimer = undefined;
    this.setState('ready');
  }

  private appendFailed(connection: Connection, req: number, error: Error): void {
    if (!connection.isErrorReply(error)) {
      // Sent, then the link broke: it may have committed. Never answer `unavailable` for that:
      // the connection's failure marks it uncertain, the next generation resolves it by origin.
      this.inFlight.markUncertain(req);
      if (connection === this.connection) this.fail(this.generation, error);
      return;
    }
    this.options.logger.error({ node: this.node, req, err: error }, 'the append script failed');
    // NOSCRIPT (someone ran SCRIPT FLUSH): the append did not run. Reconnect, which reloads the
    // scripts before any append, rather than EVAL it now and risk reordering it after later appends.
    this.inFlight.settle(req, UNAVAILABLE);
    if (error.message.startsWith('NOSCRIPT')) this.fail(this.generation, error, 'script');
    else this.counters.error('script');
  }

  private setState(state: LogState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.options.logger.info({ node: this.node, state }, 'engine state');
    for (const listener of this.stateListeners) listener(state);
  }
}
