/**
 * @module journal/repair
 * `check` and `repair` for a journal the node refused to start on (see docs/operations.md).
 * - check: reads every line (it does not stop at the first bad one) and reports what it found.
 * - repair: under the journal's lock (never while a node runs on it), copies everything from the
 *   first bad record on into `<file>.bad-<offset>-<time>` (nothing is deleted), keeps the valid
 *   prefix, re-appends every record after it that still verifies, and ends the file with a
 *   snapshot that keeps the two promises whatever the lost bytes held:
 *   - message ids never go back: the sequence is raised past any id the lost bytes could hold
 *     (each lost message record takes at least MIN_MESSAGE_RECORD_BYTES);
 *   - a revoked session is never accepted again: the snapshot sets the sessions cutoff to the repair
 *     time, so every session issued before it is refused (its logout may be among the lost bytes,
 *     and so may its start); any session a lost line still names in a readable SessionEnded is
 *     revoked too. Users log in again after a repair.
 */
import { closeSync, fdatasyncSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DomainEvent } from '../domain/events.ts';
import { evolve, type ChatState, createChatState } from '../domain/state.ts';
import { fromSnapshot, toSnapshot } from '../domain/snapshot.ts';
import { encodeRecord, decodeLine, type JournalRecord } from './codec.ts';
import { lockJournal } from './lock.ts';
import { readLines } from './scan.ts';
import { writeWhole } from './file.ts';
import { syncDirectory } from './compaction.ts';

/** The shortest line a message record can encode to (asserted in test/unit/journal-repair.test.ts). */
export const MIN_MESSAGE_RECORD_BYTES = 64;

export interface CheckReport {
  path: string;
  bytes: number;
  /** Lines that verify. */
  records: number;
  /** Where the first bad line starts, if any. */
  firstBad?: { offset: number; line: number; reason: string };
  /** Complete lines that do not verify. */
  badLines: number;
  /** The last line has no newline (a partial final write the node cuts at start). */
  tornTail: boolean;
  /** The node starts on this file (it is clean, or only its last line is torn). */
  startable: boolean;
}

export function checkJournal(path: string): CheckReport {
  const report: CheckReport = { path, bytes: statSync(path).size, records: 0, badLines: 0, tornTail: false, startable: true };
  let line = 0;
  for (const scanned of readLines(path)) {
    line += 1;
    if (!scanned.complete) {
      report.tornTail = true;
      break;
    }
    const decoded = decodeLine(scanned.text);
    if ('record' in decoded) {
      report.records += 1;
      continue;
    }
    report.badLines += 1;
    report.firstBad ??= { offset: scanned.offset, line, reason: decoded.bad };
  }
  report.startable = report.badLines === 0;
  return report;
}

export interface RepairReport {
  path: string;
  /** Where the set-aside copy of everything from the first bad record on went (undefined: nothing to repair). */
  aside?: string;
  keptRecords: number;
  salvagedRecords: number;
  lostLines: number;
  lostBytes: number;
  /** The sequence before and after the floor. */
  seq: { known: number; floor: number };
  /** Sessions revoked because their end may be among the lost bytes. */
  revokedSessions: number;
}

function fold(state: ChatState, record: JournalRecord): ChatState {
  return record.type === 'Snapshot' ? fromSnapshot(record.state) : evolve(state, record);
}

export function repairJournal(path: string, now: () => number = Date.now): RepairReport {
  const lock = lockJournal(path);
  try {
    return repairLocked(path, now);
  } finally {
    lock.release();
  }
}

function repairLocked(path: string, now: () => number): RepairReport {
  const check = checkJournal(path);
  const at = now();
  const empty: RepairReport = { path, keptRecords: check.records, salvagedRecords: 0, lostLines: 0, lostBytes: 0, seq: { known: 0, floor: 0 }, revokedSessions: 0 };
  if (!check.firstBad) return empty;
  const badAt = check.firstBad.offset;
  const aside = `${path}.bad-${badAt}-${new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}`;
  copyRange(path, aside, badAt);

  const temporary = `${path}.repair`;
  copyRange(path, temporary, 0, badAt);
  const out = openSync(temporary, 'a', 0o600);
  let state = createChatState();
  let keptRecords = 0;
  let salvagedRecords = 0;
  let lostLines = 0;
  let lostBytes = 0;
  const lostFacts: DomainEvent[] = [];
  try {
    for (const line of readLines(path)) {
      const decoded = line.complete ? decodeLine(line.text) : { bad: 'torn' };
      if (line.offset < badAt) {
        if ('record' in decoded) state = fold(state, decoded.record);
        keptRecords += 1;
        continue;
      }
      if ('record' in decoded) {
        writeWhole(out, encodeRecord(decoded.record));
        state = fold(state, decoded.record);
        salvagedRecords += 1;
        continue;
      }
      lostLines += 1;
      lostBytes += line.bytes;
      const readable = readableFact(line.text);
      if (readable) lostFacts.push(readable);
    }
    const known = state.seq;
    let floor = known + Math.ceil(lostBytes / MIN_MESSAGE_RECORD_BYTES);
    let revokedSessions = 0;
    for (const fact of lostFacts) {
      if (fact.type === 'SessionEnded' && !state.revoked.has(fact.sid)) {
        state.revoked.set(fact.sid, fact.exp);
        revokedSessions += 1;
      }
      if ((fact.type === 'GroupMessagePosted' || fact.type === 'DirectMessagePosted') && fact.id > floor) floor = fact.id;
    }
    // Every session issued so far is refused: those the lost bytes started or ended included.
    state.sessionsCutoff = Math.max(state.sessionsCutoff, at);
    state.seq = floor;
    writeWhole(out, encodeRecord({ type: 'Snapshot', state: toSnapshot(state) }));
    fdatasyncSync(out);
    closeSync(out);
    renameSync(temporary, path);
    syncDirectory(dirname(path));
    return { path, aside, keptRecords, salvagedRecords, lostLines, lostBytes, seq: { known, floor }, revokedSessions };
  } catch (error) {
    closeSync(out);
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** From a line that does not verify, only facts that are safe to act on when wrong: a revocation, a message id. */
function readableFact(text: string): DomainEvent | undefined {
  const space = text.lastIndexOf(' ');
  try {
    const value = JSON.parse(space > 0 ? text.slice(0, space) : text) as Partial<DomainEvent> | null;
    if (value?.type === 'SessionEnded' && typeof value.sid === 'string' && typeof value.exp === 'number') return value as DomainEvent;
    if ((value?.type === 'GroupMessagePosted' || value?.type === 'DirectMessagePosted') && Number.isSafeInteger(value.id)) return value as DomainEvent;
  } catch {
    // Unreadable: counted in lostBytes, which raises the sequence floor.
  }
  return undefined;
}

/** Copies bytes [start, end) of `from` into a new file `to` (0600), synced. */
function copyRange(from: string, to: string, start: number, end = statSync(from).size): void {
  const input = openSync(from, 'r');
  const output = openSync(to, 'wx', 0o600);
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (let position = start; position < end; ) {
      const read = readSync(input, chunk, 0, Math.min(chunk.length, end - position), position);
      if (read === 0) break;
      writeWhole(output, chunk.subarray(0, read));
      position += read;
    }
    fdatasyncSync(output);
  } finally {
    closeSync(input);
    closeSync(output);
  }
}
