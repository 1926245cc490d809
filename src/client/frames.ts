/** The wire frames the console client exchanges with a node (PROTOCOL.md), typed, with a tolerant parser. */

export type PresenceStatus = 'online' | 'grace' | 'offline';

export interface UserEntry {
  name: string;
  status: PresenceStatus;
}

export interface WelcomeFrame {
  type: 'welcome';
  user: string;
  seq: number;
  oldest?: number;
  online: number;
  total?: number;
  users: UserEntry[];
  truncated: boolean;
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

/** A message frame: the ones that carry an id and are deduplicated. */
export type MessageFrame = ReceiveFrame | DirectFrame;

export type ClientFrame =
  | { type: 'message'; text: string; cid: string }
  | { type: 'direct'; to: string; text: string; cid: string }
  | { type: 'list-users'; after?: string; limit?: number }
  | { type: 'ping' };

const KNOWN = new Set(['welcome', 'receive', 'direct', 'presence', 'users', 'error', 'history-gap', 'pong']);

/**
 * Parses one text frame. Unknown types (the protocol may grow) come back as `undefined` so the client
 * ignores them; only the fields the client relies on are checked.
 */
export function parseServerFrame(raw: string): ServerFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new Error(`the node sent a frame that is not JSON: ${raw.slice(0, 80)}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const frame = value as { type?: unknown; id?: unknown };
  if (typeof frame.type !== 'string' || !KNOWN.has(frame.type)) return undefined;
  if ((frame.type === 'receive' || frame.type === 'direct') && typeof frame.id !== 'number') return undefined;
  return value as ServerFrame;
}

export function isMessageFrame(frame: ServerFrame): frame is MessageFrame {
  return frame.type === 'receive' || frame.type === 'direct';
}
