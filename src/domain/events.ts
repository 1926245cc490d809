/**
 * @module domain/events
 * The domain events: every fact the node knows is one of these, appended to the journal
 * before it takes effect. State is a fold over them (see state.ts).
 */

export type PresenceStatus = 'online' | 'grace' | 'offline';

export interface SessionStarted {
  type: 'SessionStarted';
  sid: string;
  user: string;
  exp: number;
  at: number;
}

export interface SessionEnded {
  type: 'SessionEnded';
  sid: string;
  user: string;
  /** Expiry of the revoked token: the revocation can be forgotten after it. */
  exp: number;
  reason: 'logout' | 'revoked';
  at: number;
}

export interface SocketOpened {
  type: 'SocketOpened';
  user: string;
  socket: number;
  at: number;
}

export interface SocketClosed {
  type: 'SocketClosed';
  user: string;
  socket: number;
  at: number;
}

export interface PresenceChanged {
  type: 'PresenceChanged';
  user: string;
  status: PresenceStatus;
  previous: PresenceStatus;
  at: number;
}

/**
 * A user name obtained through OpenID Connect is bound to that identity (issuer + subject) for good:
 * another identity claiming the same name is refused with `name_taken`.
 */
export interface IdentityBound {
  type: 'IdentityBound';
  user: string;
  issuer: string;
  subject: string;
  at: number;
}

/** Periodic housekeeping: revocations whose token expired by `at` are forgotten. */
export interface SessionsExpired {
  type: 'SessionsExpired';
  at: number;
}

export interface GroupMessagePosted {
  type: 'GroupMessagePosted';
  id: number;
  from: string;
  text: string;
  ts: number;
  cid?: string;
}

export interface DirectMessagePosted {
  type: 'DirectMessagePosted';
  id: number;
  from: string;
  to: string;
  text: string;
  ts: number;
  cid?: string;
}

export type MessageEvent = GroupMessagePosted | DirectMessagePosted;

export type DomainEvent =
  | SessionStarted
  | SessionEnded
  | SocketOpened
  | SocketClosed
  | PresenceChanged
  | SessionsExpired
  | IdentityBound
  | MessageEvent;

export function isMessageEvent(event: DomainEvent): event is MessageEvent {
  return event.type === 'GroupMessagePosted' || event.type === 'DirectMessagePosted';
}

/** Whether `user` may see this message (group: everyone; direct: its two ends). */
export function isVisibleTo(event: MessageEvent, user: string): boolean {
  return event.type === 'GroupMessagePosted' || event.from === user || event.to === user;
}
