/** The wire frames the console client exchanges with a node (PROTOCOL.md), typed, with a tolerant parser. */

import { parseJsonObject } from '../protocol/json.ts';
import type { DirectFrame, ReceiveFrame, ServerFrame, TrackedClientFrame } from '../protocol/wire.ts';

/** A message frame: the ones that carry an id and are deduplicated. */
export type MessageFrame = ReceiveFrame | DirectFrame;

/** The frames this client sends: the wire contract's, a `cid` on each that takes one (wire.ts). */
export type ClientFrame = TrackedClientFrame;

const KNOWN = new Set(['welcome', 'receive', 'direct', 'presence', 'users', 'error', 'history-gap', 'history', 'pong']);

/**
 * Parses one text frame. Unknown types (the protocol may grow) come back as `undefined` so the client
 * ignores them; only the fields the client relies on are checked.
 */
export function parseServerFrame(raw: string): ServerFrame | undefined {
  const parsed = parseJsonObject(raw);
  if (!parsed.ok && parsed.reason === 'not_json') {
    throw new Error(`the node sent a frame that is not JSON: ${raw.slice(0, 80)}`, { cause: parsed.cause });
  }
  if (!parsed.ok) return undefined;
  const frame = parsed.value;
  if (typeof frame.type !== 'string' || !KNOWN.has(frame.type)) return undefined;
  if ((frame.type === 'receive' || frame.type === 'direct') && typeof frame.id !== 'number') return undefined;
  if (frame.type === 'history' && !Array.isArray(frame.messages)) return undefined;
  return frame as unknown as ServerFrame;
}

export function isMessageFrame(frame: ServerFrame): frame is MessageFrame {
  return frame.type === 'receive' || frame.type === 'direct';
}
