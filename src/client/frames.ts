/** The wire frames the console client exchanges with a node (PROTOCOL.md), typed, with a tolerant parser. */

import type { DirectFrame, ReceiveFrame, ServerFrame } from '../protocol/wire.ts';

export type {
  DirectFrame,
  ErrorFrame,
  HistoryFrame,
  HistoryGapFrame,
  PongFrame,
  PresenceFrame,
  PresenceStatus,
  ReceiveFrame,
  ServerFrame,
  UserEntry,
  UsersFrame,
  WelcomeFrame,
} from '../protocol/wire.ts';

/** A message frame: the ones that carry an id and are deduplicated. */
export type MessageFrame = ReceiveFrame | DirectFrame;

export type ClientFrame =
  | { type: 'message'; text: string; cid: string }
  | { type: 'direct'; to: string; text: string; cid: string }
  | { type: 'list-users'; after?: string; limit?: number }
  | { type: 'history'; before?: number; limit: number; with?: string; cid: string }
  | { type: 'ping' };

const KNOWN = new Set(['welcome', 'receive', 'direct', 'presence', 'users', 'error', 'history-gap', 'history', 'pong']);

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
  if (frame.type === 'history' && !Array.isArray((value as { messages?: unknown }).messages)) return undefined;
  return value as ServerFrame;
}

export function isMessageFrame(frame: ServerFrame): frame is MessageFrame {
  return frame.type === 'receive' || frame.type === 'direct';
}
