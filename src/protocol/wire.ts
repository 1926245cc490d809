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

/**
 * The answer to a `history` request (frame, `GET /history`, Socket.IO `history` event): one page of a
 * conversation, newest last, each message exactly as a live reader got it. `with`, `before` and `cid`
 * echo the request, so a client can match concurrent requests.
 */
export interface HistoryFrame {
  type: 'history';
  with?: string;
  before?: number;
  cid?: string;
  messages: Array<ReceiveFrame | DirectFrame>;
  /** Older messages of this conversation are still in the window: ask again with `before` = the first id here. */
  more: boolean;
  /** Only with `more` false: older messages of this conversation existed but left the window (else: its start). */
  expired: boolean;
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
  | HistoryFrame
  | PongFrame;
