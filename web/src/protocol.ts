/**
 * Wire protocol v1 as the web client sees it (the types are the node's, src/protocol/wire.ts), plus a
 * defensive parser: a frame the client does not understand is dropped, never trusted into the UI.
 */

import { isJsonObject, parseJsonObject } from '../../src/protocol/json.ts';
import type {
  DirectFrame,
  HistoryFrame,
  PresenceFrame,
  PresenceStatus,
  ReceiveFrame,
  ServerFrame,
  TrackedClientFrame,
  UserEntry,
  WelcomeFrame,
} from '../../src/protocol/wire.ts';

/** The frames this client sends: the wire contract's, a `cid` on each that takes one (wire.ts). */
export type ClientFrame = TrackedClientFrame;

type Obj = Record<string, unknown>;

const isObj = isJsonObject;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optStr = (v: unknown): string | undefined => (isStr(v) ? v : undefined);

function toStatus(v: unknown): PresenceStatus | undefined {
  return v === 'online' || v === 'grace' || v === 'offline' ? v : undefined;
}

function toUsers(v: unknown): UserEntry[] {
  if (!Array.isArray(v)) return [];
  const out: UserEntry[] = [];
  for (const u of v) {
    if (!isObj(u) || !isStr(u.name)) continue;
    out.push({ name: u.name, status: toStatus(u.status) ?? 'online' });
  }
  return out;
}

function withCid<T extends object>(frame: T, cid: unknown): T & { cid?: string } {
  const c = optStr(cid);
  return c === undefined ? frame : { ...frame, cid: c };
}

function parseMessage(o: Obj): ReceiveFrame | DirectFrame | undefined {
  if (!isNum(o.id) || !isStr(o.from) || !isStr(o.text)) return undefined;
  const ts = isNum(o.ts) ? o.ts : Date.now();
  if (o.type === 'receive') return withCid({ type: 'receive' as const, id: o.id, from: o.from, text: o.text, ts }, o.cid);
  if (!isStr(o.to)) return undefined;
  return withCid({ type: 'direct' as const, id: o.id, from: o.from, to: o.to, text: o.text, ts }, o.cid);
}

function parseWelcome(o: Obj): WelcomeFrame | undefined {
  if (!isStr(o.user) || !isNum(o.seq)) return undefined;
  const users = toUsers(o.users);
  const frame: WelcomeFrame = {
    type: 'welcome',
    user: o.user,
    seq: o.seq,
    online: isNum(o.online) ? o.online : users.length,
    users,
    truncated: o.truncated === true,
  };
  if (isNum(o.oldest)) frame.oldest = o.oldest;
  if (isStr(o.next) || o.next === null) frame.next = o.next;
  if (isNum(o.total)) frame.total = o.total;
  return frame;
}

function parsePresence(o: Obj): PresenceFrame | undefined {
  if (!Array.isArray(o.changes)) return undefined;
  const changes: PresenceFrame['changes'] = [];
  for (const c of o.changes) {
    const status = isObj(c) ? toStatus(c.status) : undefined;
    if (isObj(c) && isStr(c.user) && status) changes.push({ user: c.user, status });
  }
  return { type: 'presence', changes };
}

function parseHistory(o: Obj): HistoryFrame | undefined {
  if (!Array.isArray(o.messages) || typeof o.more !== 'boolean') return undefined;
  const messages: HistoryFrame['messages'] = [];
  for (const m of o.messages) {
    const parsed = isObj(m) ? parseMessage(m) : undefined;
    if (parsed) messages.push(parsed);
  }
  const frame: HistoryFrame = { type: 'history', messages, more: o.more, expired: o.expired === true };
  if (isStr(o.with)) frame.with = o.with;
  if (isNum(o.before)) frame.before = o.before;
  return withCid(frame, o.cid);
}

/** Parses one text frame; undefined for anything malformed or unknown. */
export function parseServerFrame(raw: string): ServerFrame | undefined {
  const parsed = parseJsonObject(raw);
  if (!parsed.ok) return undefined; // not one JSON object: the caller logs and drops it
  const o = parsed.value;
  switch (o.type) {
    case 'welcome':
      return parseWelcome(o);
    case 'receive':
    case 'direct':
      return parseMessage(o);
    case 'presence':
      return parsePresence(o);
    case 'users': {
      const users = toUsers(o.users);
      const online = isNum(o.online) ? o.online : users.length;
      return { type: 'users', users, online, next: isStr(o.next) ? o.next : null };
    }
    case 'error':
      return withCid(
        { type: 'error' as const, code: optStr(o.code) ?? 'unknown', message: optStr(o.message) ?? 'Request refused' },
        o.cid,
      );
    case 'history':
      return parseHistory(o);
    case 'history-gap':
      return isNum(o.after) && isNum(o.oldest) ? { type: 'history-gap', after: o.after, oldest: o.oldest } : undefined;
    default:
      return undefined;
  }
}
