/**
 * @module runtime/cluster-runtime
 * Several nodes on one shared log (docs/engine.md; design: SCALE-OUT.md). Sockets, posts, logins and
 * timers *propose* events to the log; the supervisor steps only on what the log commits, in log order,
 * on every node alike — the same machine as one node, with ids and times taken from the log. So every
 * node holds the same presence, revocations, bindings and message sequence, and reads them locally.
 * Presence across nodes: a user's first socket here proposes `UserAttached`, the last close
 * `UserDetached`; each user's attachments (cluster-presence.ts) become the user actor's socket count.
 */
import { ChatError } from '../domain/errors.ts';
import { isMessageEvent } from '../domain/events.ts';
import { createChatState } from '../domain/state.ts';
import { splitId, type Log, type Committed, type Verdict } from '../engine/log.ts';

export type { ClusterRuntimeOptions, SnapshotLog } from './cluster-options.ts';
import type { ProposedEvent } from '../engine/events.ts';
import { MessageWindow } from '../journal/history.ts';
import { ClusterPresence } from './cluster-presence.ts';
import { realClock } from './grace-timers.ts';
import { LocalSockets, type LocalSocket } from './local-sockets.ts';
import type { CommitCommand, Emitted, PostCommand, PostOutcome, Runtime, SocketJoin } from './runtime.ts';
import { createSupervisorActor, type GraceTimers, type SupervisorActor } from './supervisor-actor.ts';
import { SupervisorHost, type MessageSource } from './supervisor-host.ts';
import { Snapshots, replaySnapshot, restoreChat, writeSnapshot } from './cluster-snapshot.ts';
import type { ClusterRuntimeOptions } from './cluster-options.ts';
import { proposalOf, translate } from './log-commands.ts';
import { GraceExpiries } from './grace-expiries.ts';
import { Greetings } from './greetings.ts';
import { AwaitingCommits } from './awaiting-commits.ts';

/** How long a login or logout waits for its committed entry to come back from the log. */
const COMMIT_WAIT_MIN_MS = 5000;
const UNAVAILABLE = 'the chat engine is unreachable; try again shortly';

export class ClusterRuntime extends SupervisorHost implements Runtime {
  protected readonly actor: SupervisorActor;
  protected readonly messages: MessageSource;
  private readonly timers: GraceTimers;
  private readonly log: ClusterRuntimeOptions['log'];
  private readonly presence = new ClusterPresence();
  private readonly local = new LocalSockets();
  private readonly posts = new Map<number, { command: PostCommand; settle: ((outcome: PostOutcome) => void) | undefined }>();
  private readonly commits: AwaitingCommits;
  private readonly rejectedListeners = new Set<(event: Emitted<'rejected'>) => void>();
  private readonly greetings: Greetings;
  private readonly expiries: GraceExpiries;
  private readonly inFlight = new Set<Promise<Verdict>>();
  private readonly now: () => number;
  private readonly window: MessageWindow;
  private readonly chat = createChatState();
  private readonly snapshots: Snapshots;
  private stopping = false;
  private wasReady = false;
  /** The highest message id a rollback of the log skipped (the `Fenced` entry's), 0 if none. */
  private fencedTo = 0;

  constructor(private readonly options: ClusterRuntimeOptions) {
    super();
    this.log = options.log;
    this.now = options.now ?? Date.now;
    const window = new MessageWindow(options.history, this.now);
    this.window = window;
    this.messages = { history: (after, limit) => window.page(after, limit), conversation: (c, before, limit) => window.conversation(c, before, limit) };
    ({ actor: this.actor, timers: this.timers } = createSupervisorActor({
      chat: this.chat,
      graceMs: options.graceMs,
      shardSize: options.shardSize,
      now: this.now,
      // The log holds every fact already: only the history window keeps messages here, for resume and scrollback.
      record: (event) => isMessageEvent(event) && window.push(event),
      timers: options.clock ?? realClock,
      graceOver: (user) => this.expiries.graceOver(user),
      ...(options.inspect ? { inspect: options.inspect } : {}),
    }));
    this.greetings = new Greetings(() => this.state.seq);
    this.commits = new AwaitingCommits(Math.max(COMMIT_WAIT_MIN_MS, 2 * options.ttlMs));
    this.snapshots = new Snapshots(options.log, options.logger, options.ttlMs / 3, options.snapshotEvery, () => {
      const messages = window.page(0).messages;
      const data = writeSnapshot({ chat: this.chat, fencedTo: this.fencedTo, attached: this.presence.attachments(), graces: this.presence.graceEntries(), messages });
      return { data, oldest: messages[0]?.id };
    });
    this.expiries = new GraceExpiries({
      node: this.log.node,
      ttlMs: options.ttlMs,
      presence: this.presence,
      statusOf: (user) => this.userActorState(user),
      // Never listed (logged in, no socket anywhere): only this node's actor, ended here alone.
      endUnlisted: (user) => this.actor.send({ type: 'GRACE_EXPIRED', user }),
      propose: (user, epoch) => (this.stopping ? undefined : this.propose({ type: 'GraceExpired', user, epoch, at: this.now() }).verdict),
    });
    this.actor.subscribe({ error: (error) => options.logger.fatal({ err: error }, 'supervisor actor failed; the node cannot go on') });
  }

  get lastId(): number {
    return Math.max(this.state.seq, this.fencedTo);
  }

  get ready(): boolean {
    return this.log.state === 'ready' && !this.draining;
  }

  get draining(): boolean {
    return this.stopping || this.failed;
  }

  /** Listens at once (unready); reads the newest snapshot (retrying while Redis is unreachable), then tails after it. */
  async start(): Promise<void> {
    this.log.onCommitted((entries) => this.apply(entries));
    this.log.onState((state) => {
      if (state === 'ready' && !this.wasReady) this.resync();
      this.wasReady = state === 'ready';
      if (state === 'lost') this.options.onLost?.();
    });
    void this.restoreThenTail();
  }

  private async restoreThenTail(): Promise<void> {
    const loaded = await this.snapshots.load(() => this.stopping);
    if (this.stopping) return;
    if (loaded) restoreChat(this.chat, loaded.snapshot);
    this.actor.start();
    if (loaded) {
      this.fencedTo = loaded.snapshot.fencedTo;
      replaySnapshot(loaded.snapshot, this.presence, this.window, (command) => this.actor.send(command));
      this.options.logger.info({ users: this.state.presence.size, messages: loaded.snapshot.messages.length }, 'started from the log snapshot');
    }
    this.log.start(loaded?.id);
  }

  drain(): void {
    this.stopping = true;
  }

  /** Lets what is in flight settle (the detaches of the sockets just closed, at most a second), then closes the log. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.snapshots.stop();
    const settled = Promise.allSettled([...this.inFlight]);
    await Promise.race([settled, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    await this.log.close();
    this.actor.stop();
    this.timers.clear();
    this.expiries.clear();
    this.greetings.clear();
  }

  on<T extends 'committed' | 'rejected'>(type: T, handler: (event: Emitted<T>) => void): void {
    if (type === 'rejected') this.rejectedListeners.add(handler as (event: Emitted<'rejected'>) => void);
    else this.actor.on('committed', handler as (event: Emitted<'committed'>) => void);
  }

  async commit(command: CommitCommand): Promise<void> {
    if (!this.ready) throw new ChatError('unavailable', UNAVAILABLE);
    await this.commits.commit(command, this.propose(proposalOf(command, this.now())));
  }

  post(command: PostCommand, settle?: (outcome: PostOutcome) => void): void {
    if (this.draining) return this.refusePost(command, settle, 'shutting_down', 'the node is shutting down');
    const { origin, verdict } = this.propose(proposalOf(command, this.now()));
    this.posts.set(origin.req, { command, settle });
    void verdict.then((outcome) => {
      if (outcome.status === 'committed' || !this.posts.delete(origin.req)) return;
      if (outcome.status === 'unavailable') return this.refusePost(command, settle, 'unavailable', UNAVAILABLE);
      const to = command.type === 'POST_DIRECT' ? command.to : '';
      this.refusePost(command, settle, outcome.code === 'user_offline' ? 'user_offline' : 'unavailable', outcome.code === 'user_offline' ? `${to} is offline` : UNAVAILABLE);
    });
  }

  join(socket: SocketJoin, greet: () => void): void {
    const entry: LocalSocket = { socket: socket.socket, sid: socket.sid, after: socket.after, greet };
    if (this.local.add(socket.user, entry)) return this.attach(socket.user, socket.sid);
    // Another socket of the user is here: greeted now if the user's attachment here is committed, else with it.
    if (!this.local.isAttaching(socket.user)) this.greetings.whenCaughtUp(entry);
  }

  leave(user: string, socket: number): void {
    if (this.local.remove(user, socket)) this.propose({ type: 'UserDetached', user, node: this.log.node, at: this.now() });
  }

  expireSessions(): void {
    if (this.ready) this.propose({ type: 'SessionsExpired', at: this.now() });
  }

  private propose(event: ProposedEvent): ReturnType<Log['propose']> {
    const proposal = this.log.propose(event);
    this.inFlight.add(proposal.verdict);
    void proposal.verdict.finally(() => this.inFlight.delete(proposal.verdict));
    return proposal;
  }

  private attach(user: string, sid: string): void {
    const { origin, verdict } = this.propose({ type: 'UserAttached', user, node: this.log.node, sid, at: this.now() });
    this.local.attaching(user, origin.req);
    void verdict.then((outcome) => {
      if (outcome.status === 'committed' || !this.local.isAttaching(user)) return;
      const waiting = this.local.waiting(user);
      const refused = outcome.status === 'refused' ? waiting.filter((socket) => socket.sid === sid) : waiting;
      this.local.drop(user, refused);
      for (const socket of refused) {
        if (outcome.status === 'refused') this.reject(socket.socket, 'session_revoked', 'this session was logged out');
        else this.reject(socket.socket, 'unavailable', UNAVAILABLE);
      }
      // Other sessions of the user still waiting: their own attachment.
      const other = this.local.sidOf(user);
      if (other !== undefined && this.local.waiting(user).length > 0) this.attach(user, other);
      else this.local.attaching(user, undefined);
    });
  }

  /** Committed entries, in log order: each becomes the supervisor's command, as on every other node. */
  private apply(entries: readonly Committed[]): void {
    for (const entry of entries) {
      for (const command of translate(entry, this.presence, this.log.node, (req) => this.posts.get(req)?.command.socket)) this.actor.send(command);
      if (entry.event.type === 'Fenced') this.fenced(entry);
      const origin = entry.origin;
      if (origin?.node === this.log.node) this.settleOwn(entry, origin.req);
      // Read while catching up (written while this node was cut off), it is the re-sync at `ready` that re-attaches.
      else if (entry.event.type === 'NodeDown' && entry.event.node === this.log.node && this.log.state === 'ready') this.resync();
    }
    this.greetings.caughtUp();
    const last = entries[entries.length - 1];
    if (last !== undefined && this.ready) this.snapshots.applied(entries.length, last.id);
  }

  private settleOwn(entry: Committed, req: number): void {
    const event = entry.event;
    if (event.type === 'UserAttached') for (const socket of this.local.attached(event.user, req)) this.greetings.whenCaughtUp(socket);
    else if (event.type === 'GroupMessagePosted' || event.type === 'DirectMessagePosted') {
      const post = this.posts.get(req);
      this.posts.delete(req);
      post?.settle?.({ ok: true, id: event.id });
    } else this.commits.applied(req);
  }

  /**
   * The log rolled back and was fenced: messages above its top then are gone from it. They leave this node's window,
   * and ids up to the fence are never handed out again, so a client resuming from inside that range gets `history-gap`.
   */
  private fenced(entry: Committed): void {
    if (entry.event.type !== 'Fenced') return;
    const top = splitId(entry.event.top)[0];
    this.window.forgetAbove(top);
    this.fencedTo = Math.max(this.fencedTo, entry.seq);
    this.options.logger.error({ top: entry.event.top, applied: entry.event.applied, fence: entry.id }, 'the log rolled back: messages above its top are gone; resumes into that range get history-gap');
  }

  /**
   * After the log was unreachable, or named this node down: proposes only the differences between the log's
   * attachments here and the live sockets (never detach-all + attach-all, which would flap presence).
   */
  private resync(): void {
    const node = this.log.node;
    for (const user of this.presence.usersOf(node)) {
      if (!this.local.has(user)) this.propose({ type: 'UserDetached', user, node, at: this.now() });
    }
    for (const user of this.local.userNames()) {
      const sid = this.local.sidOf(user);
      if (!this.presence.has(node, user) && !this.local.isAttaching(user) && sid !== undefined) this.attach(user, sid);
    }
  }

  private refusePost(command: PostCommand, settle: ((outcome: PostOutcome) => void) | undefined, code: Emitted<'rejected'>['code'], message: string): void {
    if (settle) return settle({ ok: false, code, message });
    this.reject(command.socket, code, message, command.cid);
  }

  private reject(socket: number, code: Emitted<'rejected'>['code'], message: string, cid?: string): void {
    const rejected: Emitted<'rejected'> = { type: 'rejected', socket, code, message };
    if (cid !== undefined) rejected.cid = cid;
    for (const listener of this.rejectedListeners) listener(rejected);
  }
}
