/**
 * @module runtime/chat-runtime
 * One node: runs the supervisor actor, rebuilds its state from the journal, provides the `record`
 * action (journal append, the local log: the next id in the same turn), and offers typed commands
 * and read-only queries to the transport (the `Runtime` port; several nodes use `ClusterRuntime`).
 */
import type { InspectionEvent } from 'xstate';
import type { Logger } from 'pino';
import type { Journal } from '../journal/journal.ts';
import { ChatError } from '../domain/errors.ts';
import { nameKey } from '../domain/names.ts';
import type { ChatState } from '../domain/state.ts';
import type { DomainEvent } from '../domain/events.ts';
import type { SupervisorEmitted, SupervisorEvent } from '../machines/supervisor.machine.ts';
import { realClock, type TimerClock } from './grace-timers.ts';
import { SupervisorHost } from './supervisor-host.ts';
import { createSupervisorActor, type GraceTimers, type SupervisorActor } from './supervisor-actor.ts';
import type { CommitCommand, Emitted, PostCommand, PostOutcome, Runtime, SocketJoin } from './runtime.ts';

export interface ChatRuntimeOptions {
  journal: Journal;
  graceMs: number;
  shardSize: number;
  logger: Logger;
  now?: () => number;
  inspect?: (event: InspectionEvent) => void;
  /** The clock of the grace timers (tests may use fake timers instead). */
  clock?: TimerClock;
  /** Observes each journal append's duration in seconds (the metrics histogram). */
  observeAppend?: (seconds: number) => void;
  /**
   * The supervisor failed (a journal append threw inside `record`, so the event was neither applied nor
   * emitted; XState then puts the actor in `error` and stops it). The node must not go on.
   */
  onFatal?: (error: Error) => void;
}

/** The post being handled right now: the supervisor commits or refuses it inside `send`. */
interface InFlight {
  command: PostCommand;
  settle: (outcome: PostOutcome) => void;
  settled: boolean;
}

export class ChatRuntime extends SupervisorHost implements Runtime {
  private inFlight: InFlight | undefined;
  protected readonly actor: SupervisorActor;
  protected readonly messages: Journal;
  private readonly timers: GraceTimers;
  private appendedCount = 0;
  private started = false;

  constructor(private readonly options: ChatRuntimeOptions) {
    super();
    const { journal, observeAppend } = options;
    this.messages = journal;
    const append = (event: DomainEvent): void => {
      journal.append(event);
      this.appendedCount += 1;
    };
    const record = observeAppend
      ? (event: DomainEvent) => {
          const started = performance.now();
          append(event);
          observeAppend((performance.now() - started) / 1e3);
        }
      : append;
    ({ actor: this.actor, timers: this.timers } = createSupervisorActor({
      chat: journal.rebuild(),
      graceMs: options.graceMs,
      shardSize: options.shardSize,
      now: options.now ?? Date.now,
      record,
      timers: options.clock ?? realClock,
      ...(options.inspect ? { inspect: options.inspect } : {}),
    }));
    this.actor.subscribe({
      error: (error) => {
        options.logger.fatal({ err: error }, 'supervisor actor failed; the node cannot go on');
        options.onFatal?.(error instanceof Error ? error : new Error(String(error)));
      },
    });
    // Until `start` has recovered, the state is the previous process's: a snapshot of it is a restart's, with no timers.
    journal.attachState?.(() => this.state, () => (this.started ? this.timers.deadlines() : undefined));
    this.actor.on('committed', ({ event }) => {
      const pending = this.inFlight;
      if (!pending || pending.settled || (event.type !== 'GroupMessagePosted' && event.type !== 'DirectMessagePosted')) return;
      if (event.from === pending.command.from && event.cid === pending.command.cid) this.settle(pending, { ok: true, id: event.id });
    });
    this.actor.on('rejected', ({ socket, code, message, cid }) => {
      const pending = this.inFlight;
      if (pending && !pending.settled && socket === pending.command.socket && cid === pending.command.cid) this.settle(pending, { ok: false, code, message });
    });
  }

  /**
   * Starts the supervisor. Sockets and presence remembered by a durable journal belong to the previous process:
   * `RECOVER` closes and takes offline what it remembers, through the ordinary transitions.
   */
  async start(): Promise<void> {
    this.actor.start();
    this.actor.send({ type: 'RECOVER' });
    this.started = true;
  }

  async stop(): Promise<void> {
    this.actor.stop();
    this.timers.clear();
  }

  /** Drains (no new posts) without stopping: sockets closing are still recorded. */
  drain(): void {
    this.actor.send({ type: 'DRAIN' });
  }

  get lastId(): number {
    return this.state.seq;
  }

  /** One node is always ready while it runs (a failed journal makes it `draining`). */
  get ready(): boolean {
    return !this.draining;
  }

  /** Journal appends that succeeded since start: a caller confirms a command was recorded by seeing it move on. */
  get appended(): number {
    return this.appendedCount;
  }

  /** Not taking new work: shutting down, or failed (then nothing is recorded any more). */
  get draining(): boolean {
    return this.failed || this.actor.getSnapshot().hasTag('draining');
  }

  send(command: SupervisorEvent): void {
    this.actor.send(command);
  }

  async commit(command: CommitCommand): Promise<void> {
    const appended = this.appendedCount;
    if (command.type === 'LOGIN') return this.sendRecorded(command, () => this.appendedCount > appended);
    if (command.type === 'LOGOUT') return this.sendRecorded(command, (state) => state.revoked.has(command.sid));
    this.actor.send(command);
    const bound = this.state.identities.get(nameKey(command.user));
    if (bound && (bound.issuer !== command.issuer || bound.subject !== command.subject)) {
      throw new ChatError('name_taken', `the name ${command.user} belongs to another account`);
    }
    if (this.failed || !bound) throw new ChatError('unavailable', 'the node cannot record this now (its journal failed); try again shortly');
  }

  post(command: PostCommand, settle?: (outcome: PostOutcome) => void): void {
    if (!settle) return this.actor.send(command);
    const pending: InFlight = { command, settle, settled: false };
    this.inFlight = pending;
    try {
      this.actor.send(command);
    } finally {
      this.inFlight = undefined;
    }
    if (!pending.settled) {
      this.options.logger.error({ user: command.from, socket: command.socket }, 'a post was neither committed nor refused in its turn');
      this.settle(pending, { ok: false, code: 'internal_error', message: 'the node failed to handle this frame' });
    }
  }

  join(socket: SocketJoin, greet: () => void): void {
    let refused = false;
    const off = this.actor.on('rejected', (event) => {
      if (event.socket === socket.socket) refused = true;
    });
    try {
      this.actor.send({ type: 'SOCKET_OPEN', user: socket.user, sid: socket.sid, socket: socket.socket, issuedAt: socket.issuedAt, identity: socket.identity });
    } finally {
      off.unsubscribe();
    }
    if (!refused) greet();
  }

  leave(user: string, socket: number): void {
    this.actor.send({ type: 'SOCKET_CLOSE', user, socket });
  }

  expireSessions(): void {
    this.actor.send({ type: 'EXPIRE_SESSIONS' });
  }

  private settle(pending: InFlight, outcome: PostOutcome): void {
    pending.settled = true;
    pending.settle(outcome);
  }

  /**
   * Sends a command whose success a caller is about to announce (login, logout) and checks that it took
   * effect: it was recorded, then applied. Throws `unavailable` otherwise (the journal failed), so that
   * nobody answers 200 for a fact that is not in the journal.
   */
  sendRecorded(command: SupervisorEvent, recorded: (state: Readonly<ChatState>) => boolean): void {
    this.actor.send(command);
    if (this.failed || !recorded(this.state)) {
      throw new ChatError('unavailable', 'the node cannot record this now (its journal failed); try again shortly');
    }
  }

  /** A `rejected` that settles the post in flight goes to its `settle` only. */
  on<T extends SupervisorEmitted['type']>(type: T, handler: (event: Emitted<T>) => void): void {
    const deliver = handler as (event: SupervisorEmitted) => void;
    if (type !== 'rejected') return void this.actor.on(type, deliver);
    this.actor.on(type, (event) => {
      if (this.inFlight?.settled !== true || this.inFlight.command.socket !== (event as Emitted<'rejected'>).socket) deliver(event);
    });
  }
}
