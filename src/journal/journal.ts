/**
 * @module journal/journal
 * The journal interface: the one place domain events are written (by the supervisor only)
 * and read back, to rebuild state, to serve missed messages on resume and a conversation's scrollback.
 */
import type { DomainEvent, MessageEvent } from '../domain/events.ts';
import type { ChatState } from '../domain/state.ts';

export interface HistoryPage {
  /** Messages with id > after, oldest first, still inside the history window. */
  messages: MessageEvent[];
  /** Oldest message id still held (0 when the window is empty). */
  oldest: number;
}

/** A conversation as seen by `user`: the group one, or with `with` the direct one between `user` and `with`. */
export interface Conversation {
  user: string;
  with?: string;
}

export interface ConversationPage {
  /** Messages of the conversation with id < before, oldest first (newest last). */
  messages: MessageEvent[];
  /** Whether older messages of the conversation are still in the window. */
  more: boolean;
  /** With `more` false: whether older messages of the conversation existed but left the window. */
  expired: boolean;
}

export interface Journal {
  /** Appends one event. The supervisor applies an event only after this returns; it throws when the event was not recorded. */
  append(event: DomainEvent): void;
  /** Rebuilds the state by folding everything the journal holds. */
  rebuild(): ChatState;
  /** Messages with id > after, in id order, from the bounded history window; at most `limit` of them. */
  history(after: number, limit?: number): HistoryPage;
  /** Up to `limit` messages of one conversation older than `before`, from the history window, in O(limit). */
  conversation(conversation: Conversation, before: number, limit: number): ConversationPage;
  /** Number of events the journal holds since its last checkpoint. */
  readonly size: number;
  close(): Promise<void>;
  /** Hears once of a write or fsync failure, including one found outside an append (periodic fsync). */
  watchFailure?(listener: (error: Error) => void): void;
  /**
   * The live state (the fold of everything appended), for journals that snapshot it while running, and the grace
   * timers running then (`graces`: each user connecting or in grace and when its timer is due, epoch ms), which
   * such a snapshot records so that a replay continues from it with the same timers. `graces` answers undefined
   * until the node has started (recovered): a snapshot taken before that is the state at a restart.
   */
  attachState?(source: () => Readonly<ChatState>, graces?: () => Array<[string, number]> | undefined): void;
}

export interface HistoryLimits {
  /** Messages kept for resume, at most. */
  maxMessages: number;
  /** Messages older than this (ms) are dropped from the window. */
  maxAgeMs: number;
}
