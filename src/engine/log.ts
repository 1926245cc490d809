/**
 * @module engine/log
 * The `Log` port: the one place that orders events. The supervisor proposes an event and gets a
 * verdict; every node receives the committed events in log order and steps its actors on them
 * only, never on its own proposal. Two adapters: a `LocalLog` (one process, `seq + 1` in the same
 * turn — today's path) and the `RedisLog` (several nodes, engine/redis/redis-log.ts).
 */
import type { LogEvent, NodeId, ProposedEvent } from './events.ts';

/**
 * Who proposed an entry: the node incarnation and its per-node request number. Together they are
 * the idempotency key (a retried proposal lands once) and what lets the proposing node match a
 * committed entry, or a refusal, with its request whatever arrives first.
 */
export interface Origin {
  node: NodeId;
  req: number;
}

/** Why the log refused a proposal. The first three are protocol error codes. */
export type RefusalCode =
  /** A direct message to a user listed on no node (decided at the message's position in the log). */
  | 'user_offline'
  /** `UserAttached` with a session revoked before it in the log. */
  | 'session_revoked'
  /** `IdentityBound` of a name (compared case-insensitively) bound to another identity. */
  | 'name_taken'
  /** `GraceExpired` for a grace that is over or has another epoch; changes nothing. */
  | 'stale'
  /** `NodeDown` for a node whose heartbeat is present, or that is not up. */
  | 'node_alive';

export type Verdict =
  /** In the log at `id`; every node will receive it from `committed`. `seq` is the message sequence there. */
  | { status: 'committed'; id: string; seq: number }
  | { status: 'refused'; code: RefusalCode }
  /** Certainly not in the log and never will be: the engine was unreachable. Retry later. */
  | { status: 'unavailable' };

/** An entry of the log, as every node receives it. Messages carry their id (`seq`) in the event. */
export interface Committed {
  /** The log's own position (`<seq>-<n>`), strictly increasing. */
  id: string;
  /** The message sequence at this entry (a message's own id; for other events the last message id). */
  seq: number;
  /** Undefined for entries the log wrote itself (`Fenced`). */
  origin: Origin | undefined;
  event: LogEvent;
}

export interface Proposal {
  origin: Origin;
  verdict: Promise<Verdict>;
}

/**
 * - `starting`: connecting or catching up with the log; proposals answer `unavailable`.
 * - `ready`: connected and caught up (read past the log's top seen at (re)connect).
 * - `unavailable`: the engine is unreachable; proposals answer `unavailable`.
 * - `lost`: unavailable for a whole liveness TTL: the node should close its sockets (1012).
 * - `closed`: `close()` was called.
 */
export type LogState = 'starting' | 'ready' | 'unavailable' | 'lost' | 'closed';

export interface Log {
  /** This node's incarnation. */
  readonly node: NodeId;
  readonly state: LogState;
  /**
   * Proposes an event. The origin is assigned at once (synchronously), so the caller can file its
   * request before any committed entry or verdict arrives. Never rejects.
   */
  propose(event: ProposedEvent): Proposal;
  /** Committed entries in log order, in batches; returns the unsubscribe function. */
  onCommitted(listener: (entries: readonly Committed[]) => void): () => void;
  onState(listener: (state: LogState) => void): () => void;
  close(): Promise<void>;
}

/** Orders two log ids `<ms>-<n>` (negative, zero, positive). */
export function compareIds(a: string, b: string): number {
  const [aMs, aN] = splitId(a);
  const [bMs, bN] = splitId(b);
  return aMs !== bMs ? Math.sign(aMs - bMs) : Math.sign(aN - bN);
}

export function splitId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return dash < 0 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

/**
 * Whether log entry `next` comes right after `previous`. The append script makes ids dense: a message takes
 * `<seq+1>-0`, any other event `<seq>-*`, which Redis numbers one past the last entry of that seq. So the
 * entry after `s-n` is `s-(n+1)` or `(s+1)-0`; anything else means entries in between are gone (a trim of
 * entries this node had not read). Only a `Fenced` entry jumps, and it says so.
 */
export function follows(previous: string, next: string): boolean {
  const [pm, pn] = splitId(previous);
  const [nm, nn] = splitId(next);
  return (nm === pm && nn === pn + 1) || (nm === pm + 1 && nn === 0);
}

/** The index of the first of `entries` that does not follow the one before it (`after` before the first), or -1. */
export function firstGap(after: string, entries: readonly Committed[]): number {
  let previous = after;
  for (const [index, entry] of entries.entries()) {
    if (entry.event.type !== 'Fenced' && !follows(previous, entry.id)) return index;
    previous = entry.id;
  }
  return -1;
}
