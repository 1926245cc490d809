/**
 * @module journal/journal
 * The journal interface: the one place domain events are written (by the supervisor only)
 * and read back, to rebuild state and to serve missed messages on resume.
 */
import type { DomainEvent, MessageEvent } from '../domain/events.ts';
import type { ChatState } from '../domain/state.ts';

export interface HistoryPage {
  /** Messages with id > after, oldest first, still inside the history window. */
  messages: MessageEvent[];
  /** Oldest message id still held (0 when the window is empty). */
  oldest: number;
}

export interface Journal {
  /** Appends one event. The supervisor applies an event only after this returns. */
  append(event: DomainEvent): void;
  /** Rebuilds the state by folding everything the journal holds. */
  rebuild(): ChatState;
  /** Messages with id > after, in id order, from the bounded history window; at most `limit` of them. */
  history(after: number, limit?: number): HistoryPage;
  /** Number of events the journal holds since its last checkpoint. */
  readonly size: number;
  close(): Promise<void>;
}

export interface HistoryLimits {
  /** Messages kept for resume, at most. */
  maxMessages: number;
  /** Messages older than this (ms) are dropped from the window. */
  maxAgeMs: number;
}
