/**
 * @module protocol/client-frames
 * Parses and validates one client → server frame (PROTOCOL.md). Tolerant of extra fields,
 * strict about the ones it knows; every refusal is a ChatError with a stable code.
 */
import { ChatError } from '../domain/errors.ts';
import { isValidUsername } from '../domain/names.ts';
import { readHistoryRequest } from './history.ts';
import { isJsonObject, parseJsonObject, type JsonObject } from './json.ts';
import type { ClientFrame, ListUsersRequest } from './wire.ts';

export type { ClientFrame } from './wire.ts';

export interface FrameLimits {
  maxTextLength: number;
  pageSize: number;
}

const MAX_CID_LENGTH = 128;
const MAX_WATCH_USERS = 1000;
// C0 and C1 control characters other than tab, line feed and carriage return, plus lone surrogates.
const FORBIDDEN_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

type Json = JsonObject;

export function parseClientFrame(raw: string, limits: FrameLimits): ClientFrame {
  const parsed = parseJsonObject(raw);
  if (!parsed.ok) throw new ChatError('invalid_frame', 'a frame must be one JSON object', { cause: parsed.cause });
  return readClientFrame(parsed.value, limits);
}

/** Validates a frame already decoded from JSON (by the WebSocket path above, or by Socket.IO's parser). */
export function readClientFrame(value: unknown, limits: FrameLimits): ClientFrame {
  if (!isJsonObject(value)) throw new ChatError('invalid_frame', 'a frame must be one JSON object');
  const frame = value;
  try {
    return parseObject(frame, limits);
  } catch (error) {
    // Refusals carry the frame's cid when it has a usable one, so the client can match them to its pending send.
    const cid = frame.cid;
    if (error instanceof ChatError && typeof cid === 'string' && cid.length <= MAX_CID_LENGTH && !FORBIDDEN_TEXT.test(cid)) {
      throw new ChatError(error.code, error.message, { cause: error.cause, cid });
    }
    throw error;
  }
}

function parseObject(frame: Json, limits: FrameLimits): ClientFrame {
  switch (frame.type) {
    case 'message':
      return withCid<ClientFrame & { type: 'message' }>(frame, { type: 'message', text: text(frame, limits) });
    case 'direct':
      return withCid<ClientFrame & { type: 'direct' }>(frame, { type: 'direct', to: username(frame.to, 'to'), text: text(frame, limits) });
    case 'list-users':
      return listUsers(frame, limits);
    case 'watch':
    case 'unwatch':
      return { type: frame.type, users: userList(frame.users) };
    case 'history':
      return withCid<ClientFrame & { type: 'history' }>(frame, { type: 'history', ...readHistoryRequest(frame, 'invalid_frame') });
    case 'ping':
      return { type: 'ping' };
    case undefined:
      throw new ChatError('invalid_frame', 'a frame needs a "type"');
    default:
      throw new ChatError('unknown_type', `unknown frame type ${JSON.stringify(String(frame.type)).slice(0, 80)}`);
  }
}

function text(frame: Json, limits: FrameLimits): string {
  const value = frame.text;
  if (typeof value !== 'string') throw new ChatError('invalid_frame', '"text" must be a string');
  if (value.trim() === '') throw new ChatError('invalid_frame', '"text" must not be empty');
  if (value.length > limits.maxTextLength) {
    throw new ChatError('text_too_long', `"text" is longer than ${limits.maxTextLength} characters`);
  }
  if (FORBIDDEN_TEXT.test(value)) throw new ChatError('invalid_frame', '"text" contains control characters');
  return value;
}

function withCid<T extends { cid?: string }>(frame: Json, parsed: T): T {
  const cid = frame.cid;
  if (cid === undefined) return parsed;
  if (typeof cid !== 'string' || cid.length === 0 || cid.length > MAX_CID_LENGTH || FORBIDDEN_TEXT.test(cid)) {
    throw new ChatError('invalid_frame', `"cid" must be a string of 1 to ${MAX_CID_LENGTH} printable characters`);
  }
  parsed.cid = cid;
  return parsed;
}

function username(value: unknown, field: string): string {
  if (!isValidUsername(value)) throw new ChatError('invalid_frame', `"${field}" must be a valid user name`);
  return value;
}

function userList(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_WATCH_USERS) {
    throw new ChatError('invalid_frame', `"users" must be a list of 1 to ${MAX_WATCH_USERS} user names`);
  }
  return value.map((user) => username(user, 'users'));
}

function listUsers(frame: Json, limits: FrameLimits): ClientFrame {
  const parsed: ListUsersRequest = { type: 'list-users' };
  if (frame.after !== undefined && frame.after !== null) parsed.after = username(frame.after, 'after');
  if (frame.limit !== undefined) {
    const limit = frame.limit;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
      throw new ChatError('invalid_frame', '"limit" must be a positive whole number');
    }
    parsed.limit = Math.min(limit, limits.pageSize);
  }
  return parsed;
}
