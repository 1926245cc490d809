/**
 * @module engine/redis/codec
 * The Redis side's names and encodings: every key (all under one hash tag, so the scripts also run
 * on Redis Cluster), how a proposed event becomes the append script's arguments (its guard and the
 * minimal presence Redis keeps), and how a stream entry becomes a committed entry again.
 */
import type { LogEvent, NodeId, ProposedEvent } from '../events.ts';
import type { Committed, Origin, RefusalCode, Verdict } from '../log.ts';
import { splitId } from '../log.ts';

export interface Keys {
  /** The stream: one entry per committed event, fields `o` (origin `node:req`) and `e` (JSON). */
  log: string;
  /** Hash: `seq`, the last message id. */
  meta: string;
  /** Hash: node → connection epoch; an append from an older connection of that node is refused. */
  epochs: string;
  /** Hash: user → number of nodes the user is attached to (absent: attached nowhere). */
  attached: string;
  /** Hash: user → id of the entry that started the user's grace. */
  grace: string;
  /** Hash: revoked session id → token expiry (epoch seconds). */
  revoked: string;
  /** Hash: lower-cased user name → `issuer\nsubject`. */
  names: string;
  /** Hash: node → `up` while it may hold attachments (removed by `NodeDown`). */
  nodes: string;
  /** Hash: `id` and `data`, the newest snapshot of the fold and the entry it covers. */
  snapshot: string;
  /**
   * Hash: node → the id of the last entry it applied, published with each heartbeat (and by `trim` for the
   * trimming node). The trim never passes a node listed up in `nodes`; `NodeDown` removes its entry (the
   * append script names this key from `nodes`' prefix: keep both as `<tag>:nodes` and `<tag>:applied`).
   */
  applied: string;
  /** Sorted set: request number → `req|verdict`, the idempotency record of a node's appends. */
  idem(node: NodeId): string;
  /** Set: the users attached on a node. */
  users(node: NodeId): string;
  /** String with a TTL: the node's heartbeat. */
  heartbeat(node: NodeId): string;
}

export function keysFor(tag: string): Keys {
  const base = `{${tag}}`;
  return {
    log: `${base}:log`,
    meta: `${base}:meta`,
    epochs: `${base}:epochs`,
    attached: `${base}:attached`,
    grace: `${base}:grace`,
    revoked: `${base}:revoked`,
    names: `${base}:names`,
    nodes: `${base}:nodes`,
    snapshot: `${base}:snapshot`,
    applied: `${base}:applied`,
    idem: (node) => `${base}:idem:${node}`,
    users: (node) => `${base}:users:${node}`,
    heartbeat: (node) => `${base}:hb:${node}`,
  };
}

/** The append script's arguments for one event: its kind (which guard, which effect) and operands. */
export interface AppendArgs {
  kind: 'msg' | 'dm' | 'attach' | 'detach' | 'expire' | 'down' | 'end' | 'bind' | 'sweep' | 'plain';
  /** The node whose attachment set and heartbeat the script reads (the declared node for `down`). */
  target: NodeId;
  a: string;
  b: string;
  /** `end`: the user whose presence a logout ends on every node. */
  c: string;
  payload: string;
}

export function appendArgs(event: ProposedEvent, proposer: NodeId): AppendArgs {
  const payload = JSON.stringify(event);
  const base = { target: proposer, a: '', b: '', c: '', payload };
  switch (event.type) {
    case 'GroupMessagePosted':
      return { ...base, kind: 'msg' };
    case 'DirectMessagePosted':
      return { ...base, kind: 'dm', a: event.to };
    case 'UserAttached':
      return { ...base, kind: 'attach', a: event.user, b: event.sid };
    case 'UserDetached':
      return { ...base, kind: 'detach', a: event.user };
    case 'GraceExpired':
      return { ...base, kind: 'expire', a: event.user, b: event.epoch };
    case 'NodeDown':
      return { ...base, kind: 'down', target: event.node, a: event.node };
    case 'SessionEnded':
      return { ...base, kind: 'end', a: event.sid, b: String(event.exp), c: event.user };
    case 'IdentityBound':
      return { ...base, kind: 'bind', a: event.user.toLowerCase(), b: `${event.issuer}\n${event.subject}` };
    case 'SessionsExpired':
      return { ...base, kind: 'sweep', a: String(event.at / 1000) };
    case 'SessionStarted':
      return { ...base, kind: 'plain' };
  }
}

/** The append script's command (EVALSHA, its 11 keys and 9 arguments; see scripts.ts). */
export function appendCommand(sha: string, keys: Keys, args: AppendArgs, origin: Origin, epoch: string, lowWater: number): string[] {
  return [
    'EVALSHA', sha, '11',
    keys.log, keys.meta, keys.idem(origin.node), keys.epochs, keys.attached, keys.grace, keys.revoked, keys.names, keys.nodes,
    keys.users(args.target), keys.heartbeat(args.target),
    args.kind, args.payload, origin.node, String(origin.req), epoch, String(lowWater), args.a, args.b, args.c,
  ];
}

const REFUSALS: readonly RefusalCode[] = ['user_offline', 'session_revoked', 'name_taken', 'stale', 'node_alive'];

/** Parses the script's verdict: `c <id> <seq>` (committed) or `r <code>` (refused). */
export function parseVerdict(text: string): Verdict {
  const [tag, first, second] = text.split(' ');
  if (tag === 'c' && first !== undefined && second !== undefined) return { status: 'committed', id: first, seq: Number(second) };
  if (tag === 'r' && (REFUSALS as readonly string[]).includes(first ?? '')) return { status: 'refused', code: first as RefusalCode };
  throw new Error(`unexpected verdict from the append script: ${text}`);
}

export function formatOrigin(origin: Origin): string {
  return `${origin.node}:${origin.req}`;
}

function parseOrigin(text: string): Origin | undefined {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  return { node: text.slice(0, colon), req: Number(text.slice(colon + 1)) };
}

/** A stream entry (`[id, [field, value, …]]`) as the committed entry every node folds. */
export function parseEntry(id: string, fields: readonly string[]): Committed {
  let origin = '';
  let payload = '';
  for (let index = 0; index + 1 < fields.length; index += 2) {
    if (fields[index] === 'o') origin = fields[index + 1]!;
    else if (fields[index] === 'e') payload = fields[index + 1]!;
  }
  const seq = splitId(id)[0];
  const event = JSON.parse(payload) as LogEvent;
  if (event.type === 'GroupMessagePosted' || event.type === 'DirectMessagePosted') event.id = seq;
  return { id, seq, origin: parseOrigin(origin), event };
}
