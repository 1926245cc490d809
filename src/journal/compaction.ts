/**
 * @module journal/compaction
 * Online compaction: the journal is rewritten as the message window followed by one snapshot of
 * the folded state (with its time and the grace timers then running, so that a replay continues
 * from it rather than restarting), then whatever was appended meanwhile, into `<path>.compact`; that file is
 * fsynced and renamed over the journal (then the directory is fsynced). Appends go on to the old
 * file the whole time and are copied over, so traffic never waits for the bulk of the work: the
 * state's tables are copied by reference in one turn, then serialised and written a piece per turn
 * (the snapshot line's checksum is computed as it goes); only the final copy + fsync + rename holds
 * the loop again.
 *
 * A crash at any point leaves either the old file (whole: the new one was not renamed yet, and the
 * leftover `.compact` is removed at start) or the new one (whole: fsynced before the rename).
 */
import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MessageEvent } from '../domain/events.ts';
import type { ChatState } from '../domain/state.ts';
import { encodeRecord } from './codec.ts';

export const COMPACT_SUFFIX = '.compact';
/** Appends copied over asynchronously until fewer than this many bytes wait; the rest go in the final turn. */
const FINAL_COPY_BYTES = 256 * 1024;
/** Bytes serialised and written per turn of the event loop. */
const BATCH_BYTES = 128 * 1024;

export interface CompactionJob {
  path: string;
  /** The live state: the fold of everything appended until now. */
  state(): Readonly<ChatState>;
  /** The grace timers running now: user → when due (epoch ms), written with the snapshot for replays; undefined before the node started. */
  graces(): Array<[string, number]> | undefined;
  /** The time now (epoch ms), written as the snapshot's `at`. */
  now(): number;
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
  /** The first turn: copying the state's tables (by reference) and the window. */
  captureMs: number;
  /** The last turn: copying the appends still waiting, fsync, rename, directory fsync. */
  finalTurnMs: number;
  /** Longest single turn the compaction held the event loop (copying the state's tables, a piece, or the final copy + fsync + rename). */
  longestTurnMs: number;
  totalMs: number;
}

export async function compactOnline(job: CompactionJob): Promise<CompactionReport | undefined> {
  const started = performance.now();
  const temporary = `${job.path}${COMPACT_SUFFIX}`;
  // Turn 1: a consistent copy of the state and the window as they are now; appends from here on are collected.
  let turn = performance.now();
  job.restart();
  const state = captureState(job.state(), job.graces(), job.now());
  const window = job.window();
  const captureMs = performance.now() - turn;
  let longestTurnMs = captureMs;
  let finalTurnMs = 0;
  const yieldTurn = (): void => {
    longestTurnMs = Math.max(longestTurnMs, performance.now() - turn);
  };

  const file = await open(temporary, 'w', 0o600);
  turn = performance.now();
  let bytes = 0;
  let records = 0;
  let appendsDuring = 0;
  let handedOver = false;
  // Everything is written in pieces of at most BATCH_BYTES, each its own turn of the event loop.
  const write = async (data: Buffer): Promise<void> => {
    yieldTurn();
    await file.write(data);
    turn = performance.now();
    bytes += data.length;
  };
  try {
    for (let i = 0; i < window.length; ) {
      const batch: Buffer[] = [];
      let size = 0;
      while (i < window.length && size < BATCH_BYTES) {
        const line = encodeRecord(window[i++]!);
        size += line.length;
        batch.push(line);
      }
      await write(Buffer.concat(batch, size));
      records += batch.length;
    }
    const hash = createHash('sha1');
    for (const piece of snapshotPieces(state)) {
      hash.update(piece);
      await write(piece);
    }
    await write(Buffer.from(` ${hash.digest('hex').slice(0, 8)}\n`));
    records += 1;
    for (let waiting = job.takePending(); ; waiting = job.takePending()) {
      appendsDuring += waiting.length;
      const size = waiting.reduce((sum, line) => sum + line.length, 0);
      if (size > 0) await write(Buffer.concat(waiting, size));
      records += waiting.length;
      if (!job.stillWanted()) return undefined;
      if (size < FINAL_COPY_BYTES) break;
    }
    yieldTurn();
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
    finalTurnMs = performance.now() - turn;
    yieldTurn();
  } finally {
    await file.close();
    // Abandoned or failed before the rename: the old journal stays whole; the half-written copy goes.
    if (!handedOver) await rm(temporary, { force: true });
  }
  return {
    bytes,
    records,
    appendsDuring,
    captureMs: round(captureMs),
    finalTurnMs: round(finalTurnMs),
    longestTurnMs: round(longestTurnMs),
    totalMs: round(performance.now() - started),
  };
}

/** The state's tables copied by reference (entries are replaced, never changed in place): O(entries), no serialising. */
function captureState(state: Readonly<ChatState>, graces: Array<[string, number]> | undefined, at: number) {
  return {
    running: graces === undefined ? undefined : { at, graces },
    seq: state.seq,
    online: state.online,
    presence: state.presence.clone(),
    sockets: [...state.sockets],
    revoked: [...state.revoked],
    identities: [...state.identities],
    sessionsCutoff: state.sessionsCutoff,
  };
}

/**
 * The snapshot record's JSON (the state in the shape of domain/snapshot.ts, unsorted, then — once the node runs —
 * `at` and `graces`: journal/codec.ts), in pieces of about BATCH_BYTES.
 */
function* snapshotPieces(state: ReturnType<typeof captureState>): Generator<Buffer> {
  yield Buffer.from(`{"type":"Snapshot","state":{"seq":${state.seq},"online":${state.online},"presence":`);
  yield* arrayPieces(state.presence.entries());
  for (const name of ['sockets', 'revoked', 'identities'] as const) {
    yield Buffer.from(`,"${name}":`);
    yield* arrayPieces(state[name]);
  }
  yield Buffer.from(`,"sessionsCutoff":${state.sessionsCutoff}}`);
  if (state.running) {
    yield Buffer.from(`,"at":${state.running.at},"graces":`);
    yield* arrayPieces(state.running.graces);
  }
  yield Buffer.from('}');
}

function* arrayPieces(entries: Iterable<unknown>): Generator<Buffer> {
  let piece = '[';
  let first = true;
  for (const entry of entries) {
    piece += (first ? '' : ',') + JSON.stringify(entry);
    first = false;
    if (piece.length >= BATCH_BYTES) {
      yield Buffer.from(piece);
      piece = '';
    }
  }
  yield Buffer.from(`${piece}]`);
}

/** Makes a rename in `path` durable: fsync of the directory itself. */
export function syncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
