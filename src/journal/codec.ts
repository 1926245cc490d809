/**
 * @module journal/codec
 * One journal line: `<json> <first 8 hex digits of its SHA-1>\n`. Records are domain events and
 * the `Snapshot` checkpoints compaction and repair write.
 */
import { hash } from 'node:crypto';
import type { DomainEvent } from '../domain/events.ts';
import type { StateSnapshot } from '../domain/snapshot.ts';

/** A checkpoint: the folded state of every record before it; it replaces the state when read. */
export interface SnapshotRecord {
  type: 'Snapshot';
  state: StateSnapshot;
  /**
   * Set by a running node's online compaction (journal/compaction.ts): when it took the state (epoch ms). The node
   * went on running, so its actors did too: a replay continues from this snapshot, not from a restart. Snapshots
   * written offline (`npm run journal -- repair`), by a compaction before the node had started (recovered), and
   * by nodes before this field have none: read as restarts.
   */
  at?: number;
  /** With `at`: the users whose grace timer was running (a user actor connecting or in grace) and when it was due (epoch ms). */
  graces?: Array<[string, number]>;
}

/** Whether a snapshot was written by a running node (its actors lived on) rather than at a restart. */
export const writtenOnline = (record: SnapshotRecord): record is SnapshotRecord & { at: number; graces: Array<[string, number]> } =>
  typeof record.at === 'number' && Array.isArray(record.graces);

export type JournalRecord = DomainEvent | SnapshotRecord;

/** One-shot `crypto.hash` (Node ≥ 20.12): measured 3.5× faster than `createHash` on a record, which start-up pays per line. */
const checksum = (json: string): string => hash('sha1', json).slice(0, 8);

export function encodeRecord(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  return Buffer.from(`${json} ${checksum(json)}\n`);
}

/** Decodes one line (without its newline); a reason when its checksum or JSON is bad. */
export function decodeLine(line: string): { record: JournalRecord } | { bad: string } {
  const space = line.lastIndexOf(' ');
  if (space <= 0) return { bad: 'no checksum' };
  const json = line.slice(0, space);
  if (checksum(json) !== line.slice(space + 1)) return { bad: 'checksum mismatch' };
  try {
    const record = JSON.parse(json) as JournalRecord;
    if (record === null || typeof record !== 'object' || typeof record.type !== 'string') return { bad: 'not a record' };
    return { record };
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    return { bad: 'bad JSON' };
  }
}
