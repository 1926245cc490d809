/**
 * @module protocol/wire
 * The server → client frames of wire protocol v1 (docs/protocol.md) as types: one contract shared by the
 * node's encoders, the console client and the web client. Types only, no runtime code, no imports, so the
 * browser build can use it too.
 */

export type PresenceStatus = 'online' | 'grace' | 'offline';

export interface UserEntry {
  name: string;
  status: PresenceStatus;
}

export interface WelcomeFrame {
  type: 'welcome';
  user: string;
  /** Newest message id. */
  seq: number;
  /** Oldest message id still in the history window; 0 when it is empty. */
  oldest?: number;
  /** Users online (not in grace). */
  online: number;
  /** Users listed (online or grace). */
  total?: number;
  /** First page of the presence list. */
  users: UserEntry[];
  truncated: boolean;
  /** Cursor for `list-users` when truncated. */
  next?: string | null;
}

export interface ReceiveFrame {
  type: 'receive';
  id: number;
  from: string;
  text: string;
  ts: number;
  cid?: string;
}

export interface DirectFrame {
  type: 'direct';
  id: number;
  from: string;
  to: string;
  text: string;
  ts: number;
  cid?: string;
}

export interface PresenceFrame {
  type: 'presence';
  changes: Array<{ user: string; status: PresenceStatus }>;
}

export interface UsersFrame {
  type: 'users';
  users: UserEntry[];
  online: number;
  total?: number;
  next: string | null;
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
  cid?: string;
}

/** On resume, when `after` is older than the history window. */
export interface HistoryGapFrame {
  type: 'history-gap';
  after: number;
  oldest: number;
}

export interface PongFrame {
  type: 'pong';
}

export type ServerFrame =
  | WelcomeFrame
  | ReceiveFrame
  | DirectFrame
  | PresenceFrame
  | UsersFrame
  | ErrorFrame
  | HistoryGapFrame
  | PongFrame;
