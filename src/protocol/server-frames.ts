/**
 * @module protocol/server-frames
 * Encodes server → client frames (PROTOCOL.md). Each frame is encoded once and published to
 * a topic, never once per recipient.
 */
import type { ErrorCode } from '../domain/errors.ts';
import type { MessageEvent, PresenceStatus } from '../domain/events.ts';
import type { UserPage } from '../domain/state.ts';

export interface PresenceChange {
  user: string;
  status: PresenceStatus;
}

export function encodeMessage(event: MessageEvent): string {
  if (event.type === 'GroupMessagePosted') {
    return JSON.stringify({ type: 'receive', id: event.id, from: event.from, text: event.text, ts: event.ts, cid: event.cid });
  }
  return JSON.stringify({
    type: 'direct',
    id: event.id,
    from: event.from,
    to: event.to,
    text: event.text,
    ts: event.ts,
    cid: event.cid,
  });
}

export function encodeWelcome(user: string, seq: number, oldest: number, page: UserPage): string {
  return JSON.stringify({
    type: 'welcome',
    user,
    seq,
    oldest,
    online: page.online,
    total: page.total,
    users: page.users,
    truncated: page.next !== null,
    next: page.next,
  });
}

export function encodeUsers(page: UserPage): string {
  return JSON.stringify({ type: 'users', users: page.users, online: page.online, total: page.total, next: page.next });
}

export function encodePresence(changes: PresenceChange[]): string {
  return JSON.stringify({ type: 'presence', changes });
}

export function encodeError(code: ErrorCode, message: string, cid?: string): string {
  return JSON.stringify({ type: 'error', code, message, cid });
}

/** Sent on resume when `after` is older than the history window: messages in between are gone. */
export function encodeHistoryGap(after: number, oldest: number): string {
  return JSON.stringify({ type: 'history-gap', after, oldest });
}
