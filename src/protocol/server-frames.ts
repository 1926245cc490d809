/**
 * @module protocol/server-frames
 * Encodes server → client frames (PROTOCOL.md). Each frame is encoded once and published to
 * a topic, never once per recipient.
 */
import type { ErrorCode } from '../domain/errors.ts';
import type { MessageEvent, PresenceStatus } from '../domain/events.ts';
import type { UserPage } from '../domain/state.ts';
import type { DirectFrame, ErrorFrame, HistoryGapFrame, PresenceFrame, ReceiveFrame, UsersFrame } from './wire.ts';

export interface PresenceChange {
  user: string;
  status: PresenceStatus;
}

/** The frame a live reader gets for a message (a `history` page carries the same objects). */
export function messageFrame(event: MessageEvent): ReceiveFrame | DirectFrame {
  if (event.type === 'GroupMessagePosted') return { type: 'receive', id: event.id, from: event.from, text: event.text, ts: event.ts, cid: event.cid };
  return { type: 'direct', id: event.id, from: event.from, to: event.to, text: event.text, ts: event.ts, cid: event.cid };
}

export function encodeMessage(event: MessageEvent): string {
  return JSON.stringify(messageFrame(event));
}

export function encodeUsers(page: UserPage): string {
  const frame: UsersFrame = { type: 'users', users: page.users, online: page.online, total: page.total, next: page.next };
  return JSON.stringify(frame);
}

export function encodePresence(changes: PresenceChange[]): string {
  const frame: PresenceFrame = { type: 'presence', changes };
  return JSON.stringify(frame);
}

export function encodeError(code: ErrorCode, message: string, cid?: string): string {
  const frame: ErrorFrame = { type: 'error', code, message, cid };
  return JSON.stringify(frame);
}

/** Sent on resume when `after` is older than the history window: messages in between are gone. */
export function encodeHistoryGap(after: number, oldest: number): string {
  const frame: HistoryGapFrame = { type: 'history-gap', after, oldest };
  return JSON.stringify(frame);
}
