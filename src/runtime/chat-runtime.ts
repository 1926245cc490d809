/**
 * @module runtime/chat-runtime
 * Runs the supervisor actor: rebuilds its state from the journal, provides the `record`
 * action (journal append), and offers typed commands and read-only queries to the transport.
 */
import type { InspectionEvent } from 'xstate';
import type { Logger } from 'pino';
import type { Conversation, ConversationPage, Journal } from '../journal/journal.ts';
import { ChatError } from '../domain/errors.ts';
import type { ChatState } from '../domain/state.ts';
import type { DomainEvent } from '../domain/events.ts';
import { userActorOf, type SupervisorEmitted, type SupervisorEvent } from '../machines/supervisor.machine.ts';
import { realClock, type TimerClock } from './grace-timers.ts';
import { createSupervisorActor, type GraceTimers, type SupervisorActor } from './supervisor-actor.ts';

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

type Emitted<T extends SupervisorEmitted['type']> = Extract<SupervisorEmitted, { type: T }>;

export class ChatRuntime {
  private readonly actor: SupervisorActor;
  private readonly timers: GraceTimers;
  private appendedCount = 0;

  constructor(private readonly options: ChatRuntimeOptions) {
    const { journal, observeAppend } = options;
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
    journal.attachState?.(() => this.state);
  }

  start(): void {
    this.actor.start();
  }

  stop(): void {
    this.actor.stop();
    this.timers.clear();
  }

  /** The folded state. Read-only for everyone but the supervisor. */
  get state(): Readonly<ChatState> {
    return this.actor.getSnapshot().context.chat;
  }

  /** Journal appends that succeeded since start: a caller confirms a command was recorded by seeing it move on. */
  get appended(): number {
    return this.appendedCount;
  }

  get failed(): boolean {
    return this.actor.getSnapshot().status === 'error';
  }

  /** Not taking new work: shutting down, or failed (then nothing is recorded any more). */
  get draining(): boolean {
    return this.failed || this.actor.getSnapshot().hasTag('draining');
  }

  send(command: SupervisorEvent): void {
    this.actor.send(command);
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

  on<T extends SupervisorEmitted['type']>(type: T, handler: (event: Emitted<T>) => void): void {
    this.actor.on(type, handler as (event: SupervisorEmitted) => void);
  }

  history(after: number, limit?: number): ReturnType<Journal['history']> {
    return this.options.journal.history(after, limit);
  }

  /** One page of a conversation's scrollback, from the journal's history window. */
  conversation(conversation: Conversation, before: number, limit: number): ConversationPage {
    return this.options.journal.conversation(conversation, before, limit);
  }

  /** Users by actor state, for metrics: listed ones from the presence list, the rest are connecting. */
  usersByState(): { online: number; grace: number; connecting: number } {
    const { chat, placement } = this.actor.getSnapshot().context;
    const listed = chat.presence.size;
    return { online: chat.online, grace: listed - chat.online, connecting: Math.max(0, placement.size - listed) };
  }

  /** Live user actors (connecting, online or grace); for metrics and tests. */
  get liveActors(): number {
    return this.actor.getSnapshot().context.placement.size;
  }

  /** The status of a user's actor (its state value), or undefined when it has none. */
  userActorState(user: string): string | undefined {
    const child = userActorOf(this.actor.getSnapshot(), user);
    return child ? String(child.getSnapshot().value) : undefined;
  }
}
