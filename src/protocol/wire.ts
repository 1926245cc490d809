/**
 * @module protocol/wire
 * The frames of wire protocol v1 (docs/protocol.md) in both directions, as types: one contract shared by
 * the node's parser and encoders, the console client and the web client. Types only, no runtime code, no
 * imports, so the browser build can use it too.
 */

// Client → server.

export interface MessageRequest {
  type: 'message';
  text: string;
  /** Echoed on the `receive` frame (or on the refusal), so the sender can match it to its send. */
  cid?: string;
}

export interface DirectRequest {
  type: 'direct';
  to: string;
  text: string;
  cid?: string;
}

export interface ListUsersRequest {
  type: 'list-users';
  /** Cursor: the `next` of the previous page. */
  after?: string;
  limit?: number;
}

export interface WatchRequest {
  type: 'watch' | 'unwatch';
  users: string[];
}

/** One page of a conversation's scrollback; answered by a `history` frame. */
export interface HistoryRequestFrame {
  type: 'history';
  /** Messages with a smaller id; absent: from the newest. */
  before?: number;
  /** At most this many (the node clamps it); absent: the node's default. */
  limit?: number;
  /** The other end of a direct conversation; absent: the group conversation. */
  with?: string;
  cid?: string;
}

export interface PingFrame {
  type: 'ping';
}

export type ClientFrame = MessageRequest | DirectRequest | ListUsersRequest | WatchRequest | HistoryRequestFrame | PingFrame;

type WithCid<F extends { cid?: string }> = F & { cid: string };

/** The client frames as both clients send them: each frame that may carry a `cid` does, so its answer can be matched. */
export type TrackedClientFrame =
  | WithCid<Extract<ClientFrame, { type: 'message' | 'direct' | 'history' }>>
  | Exclude<ClientFrame, { type: 'message' | 'direct' | 'history' }>;

// Server → client.

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
