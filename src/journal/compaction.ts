/**
 * @module journal/compaction
 * Online compaction: the journal is rewritten as the message window followed by one snapshot of
 * the folded state, then whatever was appended meanwhile, into `<path>.compact`; that file is
 * fsynced and renamed over the journal (then the directory is fsynced). Appends go on to the old
 * file the whole time and are copied over, so traffic never waits for the bulk of the work: only
 * the snapshot's serialisation and the final copy + fsync + rename run in one turn.
 *
 * A crash at any point leaves either the old file (whole: the new one was not renamed yet, and the
 * leftover `.compact` is removed at start) or the new one (whole: fsynced before the rename).
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MessageEvent } from '../domain/events.ts';
import type { ChatState } from '../domain/state.ts';
import { toSnapshot } from '../domain/snapshot.ts';
import { encodeRecord } from './codec.ts';

export const COMPACT_SUFFIX = '.compact';
/** Appends copied over asynchronously until fewer than this many bytes wait; the rest go in the final turn. */
const FINAL_COPY_BYTES = 256 * 1024;
const BATCH_BYTES = 1 << 20;

export interface CompactionJob {
  path: string;
  /** The live state: the fold of everything appended until now. */
  state(): Readonly<ChatState>;
  window(): MessageEvent[];
  /** Starts collecting appended lines (called in the same turn as `state`). */
  restart(): void;
  /** The lines appended since the last call. */
  takePending(): Buffer[];
  /** False once the journal failed or closed: the compaction is abandoned. */
  stillWanted(): boolean;
  /** Replaces the journal's descriptor with the new file's (opened for append). */
  swap(fd: number, bytes: number, records: number): void;
}

export interface CompactionReport {
  bytes: number;
  records: number;
  /** Appends that happened while compacting (they waited for nothing but the two synchronous steps). */
  appendsDuring: number;
  /** Longest single turn the compaction held the event loop: serialising the snapshot, or the final copy + fsync + rename. */
  longestTurnMs: number;
  totalMs: number;
}

export async function compactOnline(job: CompactionJob): Promise<CompactionReport | undefined> {
  const started = performance.now();
  const temporary = `${job.path}${COMPACT_SUFFIX}`;
  // Turn 1: the state and the window as they are now; appends from here on are collected.
  let turn = performance.now();
  job.restart();
  const snapshot = encodeRecord({ type: 'Snapshot', state: toSnapshot(job.state()) });
  const window = job.window();
  let longestTurnMs = performance.now() - turn;

  const file = await open(temporary, 'w', 0o600);
  let bytes = 0;
  let records = 0;
  let appendsDuring = 0;
  let handedOver = false;
  try {
    const write = async (lines: Buffer[]): Promise<void> => {
      for (let i = 0; i < lines.length; ) {
        const batch: Buffer[] = [];
        let size = 0;
        while (i < lines.length && size < BATCH_BYTES) {
          size += lines[i]!.length;
          batch.push(lines[i++]!);
        }
        await file.write(Buffer.concat(batch, size));
        bytes += size;
        records += batch.length;
      }
    };
    await write(window.map((message) => encodeRecord(message)));
    await write([snapshot]);
    for (let waiting = job.takePending(); ; waiting = job.takePending()) {
      appendsDuring += waiting.length;
      await write(waiting);
      if (!job.stillWanted()) return undefined;
      if (waiting.reduce((sum, line) => sum + line.length, 0) < FINAL_COPY_BYTES) break;
    }
    await file.datasync();
    if (!job.stillWanted()) return undefined;

    // Final turn: no append can run in between, so the new file is the whole journal when it is renamed.
    turn = performance.now();
    const rest = job.takePending();
    appendsDuring += rest.length;
    const fd = file.fd;
    for (const line of rest) {
      for (let offset = 0; offset < line.length; ) {
        const written = writeSync(fd, line, offset, line.length - offset, bytes + offset);
        if (written <= 0) throw new Error(`short write to ${temporary}`);
        offset += written;
      }
      bytes += line.length;
      records += 1;
    }
    fdatasyncSync(fd);
    renameSync(temporary, job.path);
    syncDirectory(dirname(job.path));
    const appendFd = openSync(job.path, 'a', 0o600);
    job.swap(appendFd, bytes, records);
    handedOver = true;
    longestTurnMs = Math.max(longestTurnMs, performance.now() - turn);
  } finally {
    await file.close();
    // Abandoned or failed before the rename: the old journal stays whole; the half-written copy goes.
    if (!handedOver) await rm(temporary, { force: true });
  }
  return { bytes, records, appendsDuring, longestTurnMs: round(longestTurnMs), totalMs: round(performance.now() - started) };
}

function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
