/**
 * @module engine/redis/counters
 * The RedisLog's numbers for operators (`EngineStats`), counted where they happen: appends by
 * verdict, engine errors by kind, `NodeDown` entries read from the log, and how far this node is
 * behind the log.
 *
 * Lag is measured two ways, both from `XINFO STREAM` (read at every (re)connect and with every
 * heartbeat, TTL/3):
 * - in entries: the stream's `entries-added` (every entry ever added; trimming does not lower it)
 *   minus this node's position in that count. The position is known once the node has stood at a
 *   top it read with its count (at connect, or when the tail reaches the top seen at connect), and
 *   then moves by one per entry read; a rollback (fence) makes it unknown again until re-anchored.
 *   Unknown: `NaN`.
 * - in time: the age of the oldest top this node has seen at a poll and not yet applied. Stream ids
 *   are `<seq>-<n>`, not times, so the age is measured from when this node saw the entry exist;
 *   it is 0 when caught up and understates the entry's real age by at most one poll interval.
 */
import { ENGINE_ERROR_KINDS, type EngineErrorKind, type EngineStats } from '../engine-stats.ts';
import { compareIds, type Committed, type LogState, type Verdict } from '../log.ts';
import type { RawClient } from './connection.ts';

/** The stream's top as `XINFO STREAM` reports it: the newest entry's id and the entries ever added. */
export interface StreamTop {
  id: string;
  added: number;
}

/** At most this many unapplied tops are remembered for the lag in time (older ones merge). */
const MAX_PENDING_TOPS = 64;

export class LogCounters {
  readonly appends = { committed: 0, refused: 0, unavailable: 0 };
  readonly errors = Object.fromEntries(ENGINE_ERROR_KINDS.map((kind) => [kind, 0])) as Record<EngineErrorKind, number>;
  readonly declaredDown = { byThisNode: 0, byOthers: 0 };
  /** `entries-added` at the applied entry, once known. */
  private position: number | undefined;
  /** A top read with its count that the tail has not reached yet (the anchor of the position). */
  private anchor: StreamTop | undefined;
  private top: StreamTop = { id: '0-0', added: 0 };
  /** Tops seen at polls and not yet applied, oldest first, with when they were seen. */
  private readonly pending: Array<{ id: string; seenAt: number }> = [];

  constructor(
    private readonly node: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Where the tail starts: before the first entry the position is 0; after a snapshot's id, unknown. */
  startAt(applied: string): void {
    this.position = applied === '0-0' ? 0 : undefined;
  }

  /** Counts an append's verdict and hands it on. */
  counted(verdict: Verdict): Verdict {
    this.appends[verdict.status] += 1;
    return verdict;
  }

  error(kind: EngineErrorKind): void {
    this.errors[kind] += 1;
  }

  /** The log rolled back: positions counted before no longer match the stream's count. */
  fenced(): void {
    this.error('rollback');
    this.position = undefined;
    this.anchor = undefined;
    this.pending.length = 0;
  }

  /**
   * A top read by a poll (or at connect) while this node stood at `applied`. Answers false when the
   * count shows a hole: standing exactly at the top, this node read fewer entries than were added
   * (a trim removed some before it read them).
   */
  polled(top: StreamTop, applied: string): boolean {
    this.top = top;
    const order = compareIds(applied, top.id);
    if (order === 0) {
      if (this.position !== undefined && this.position !== top.added) return false;
      // Standing exactly at the top: the position is its count. (Past it, the tail read entries
      // added after this reply was made; the position, if known, already counts them.)
      this.position = top.added;
      this.anchor = undefined;
    } else if (order < 0) {
      if (this.position === undefined && this.anchor === undefined) this.anchor = top;
      const last = this.pending[this.pending.length - 1];
      if (last === undefined || compareIds(last.id, top.id) < 0) this.pending.push({ id: top.id, seenAt: this.now() });
      if (this.pending.length > MAX_PENDING_TOPS) this.pending.splice(1, 1);
    }
    return true;
  }

  /** Entries the tail delivered, in order; `applied` is the last of them. */
  delivered(entries: readonly Committed[], applied: string): void {
    for (const entry of entries) {
      if (entry.event.type === 'NodeDown') {
        if (entry.origin?.node === this.node) this.declaredDown.byThisNode += 1;
        else this.declaredDown.byOthers += 1;
        if (entry.event.node === this.node) this.error('declared_down');
      }
      if (entry.event.type === 'Fenced') {
        // The log rolled back under it: the count before no longer matches; re-anchored at a later poll.
        this.position = undefined;
        this.anchor = undefined;
      } else if (this.position !== undefined) this.position += 1;
      else if (this.anchor !== undefined && entry.id === this.anchor.id) this.position = this.anchor.added;
    }
    if (this.anchor !== undefined && compareIds(applied, this.anchor.id) >= 0) this.anchor = undefined;
    let passed = 0;
    while (passed < this.pending.length && compareIds(this.pending[passed]!.id, applied) <= 0) passed += 1;
    if (passed > 0) this.pending.splice(0, passed);
  }

  stats(state: LogState, applied: string): EngineStats {
    const oldest = this.pending[0];
    return {
      state,
      appends: { ...this.appends },
      errors: { ...this.errors },
      declaredDown: { ...this.declaredDown },
      lagEntries: this.position === undefined ? Number.NaN : Math.max(0, this.top.added - this.position),
      lagSeconds: oldest === undefined ? 0 : (this.now() - oldest.seenAt) / 1000,
      appliedId: applied,
      topId: this.top.id,
    };
  }
}

/** `XINFO STREAM`'s RESP2 reply (a flat field/value list) as a top; an absent stream is empty. */
export function parseStreamInfo(reply: readonly unknown[]): StreamTop {
  let id = '0-0';
  let added = 0;
  for (let index = 0; index + 1 < reply.length; index += 2) {
    const field = reply[index];
    const value = reply[index + 1];
    if (field === 'last-entry' && Array.isArray(value) && typeof value[0] === 'string') id = value[0];
    else if (field === 'entries-added') added = Number(value);
  }
  return { id, added };
}

/** Reads the stream's top with `XINFO STREAM` (one command: the id and the count agree). */
export async function readStreamTop(client: RawClient, key: string): Promise<StreamTop> {
  try {
    return parseStreamInfo(await client.sendCommand<unknown[]>(['XINFO', 'STREAM', key]));
  } catch (error) {
    // No stream yet (nothing appended): an empty top. Anything else is the caller's failure.
    if (error instanceof Error && /no such key/i.test(error.message)) return { id: '0-0', added: 0 };
    throw error;
  }
}
