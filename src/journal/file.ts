/**
 * @module journal/file
 * The durable journal: an append-only file of checksummed JSON lines (journal/codec.ts).
 * - One writer: an exclusive flock on `<path>.lock` (journal/lock.ts); the file is opened in
 *   append mode (O_APPEND) and created 0600.
 * - Fail-stop: an append is written whole (a short write is continued) before the event takes
 *   effect; a write or fsync error (the periodic one too) fails the journal for good, every
 *   later append throws, and the failure listeners hear of it once (the node then exits).
 * - Start-up streams the file (journal/scan.ts): a torn last line is cut with a warning; any
 *   other bad line refuses to start (JournalCorruptError: file, byte offset, what to run).
 * - Past `maxBytes` the file is compacted online (journal/compaction.ts).
 */
import { closeSync, existsSync, fchmodSync, fdatasync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { isMessageEvent, type DomainEvent } from '../domain/events.ts';
import { createChatState, evolve, type ChatState } from '../domain/state.ts';
import { fromSnapshot } from '../domain/snapshot.ts';
import { encodeRecord, type JournalRecord } from './codec.ts';
import { MessageWindow } from './history.ts';
import type { Conversation, ConversationPage, HistoryLimits, HistoryPage, Journal } from './journal.ts';
import { lockJournal, type JournalLock } from './lock.ts';
import { scanJournal } from './scan.ts';
import { compactOnline, COMPACT_SUFFIX } from './compaction.ts';

export type { JournalRecord, SnapshotRecord } from './codec.ts';
export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface FileJournalOptions extends HistoryLimits {
  path: string;
  /** Past this many bytes the file is compacted online to a snapshot plus the message window. */
  maxBytes: number;
  fsync: FsyncPolicy;
  fsyncMs: number;
  logger: Logger;
  now?: () => number;
}

export interface RecoveryReport {
  events: number;
  /** Bytes of a torn last line that were cut (0 when the file ended cleanly). */
  droppedBytes: number;
}

/** The journal holds a bad record that is not a torn last line: the node must not start on it. */
export class JournalCorruptError extends Error {
  override readonly name = 'JournalCorruptError';
  readonly code = 'journal_corrupt';
  constructor(
    readonly path: string,
    readonly offset: number,
    readonly line: number,
    readonly reason: string,
  ) {
    super(
      `${path}: bad record at byte ${offset} (line ${line}: ${reason}); the node will not start on it. ` +
        `Run \`npm run journal -- check ${path}\` to inspect and \`npm run journal -- repair ${path}\` to set the bad tail aside (see docs/operations.md).`,
    );
  }
}

/** A write or fsync of the journal failed: what was asked may not be on disk. */
export class JournalWriteError extends Error {
  override readonly name = 'JournalWriteError';
  readonly code = 'journal_write_failed';
  constructor(
    readonly path: string,
    cause: unknown,
  ) {
    super(`journal ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** Folds journal records: a snapshot replaces the state, an event evolves it. */
export function foldRecords(records: Iterable<JournalRecord>, state: ChatState = createChatState()): ChatState {
  for (const record of records) state = foldRecord(state, record);
  return state;
}

function foldRecord(state: ChatState, record: JournalRecord): ChatState {
  if (record.type === 'Snapshot') return fromSnapshot(record.state);
  return evolve(state, record);
}

/** Reads and folds a journal file as a stream; throws JournalCorruptError on a bad record that is not a torn tail. */
export function loadJournalFile(path: string, onMessage: (record: DomainEvent) => void = () => {}): { state: ChatState; records: number; validBytes: number; totalBytes: number } {
  let state = createChatState();
  const scan = scanJournal(path, (record) => {
    state = foldRecord(state, record);
    if (record.type !== 'Snapshot' && isMessageEvent(record)) onMessage(record);
  });
  if (scan.end.kind === 'corrupt') throw new JournalCorruptError(path, scan.end.offset, scan.end.line, scan.end.reason);
  return { state, records: scan.records, validBytes: scan.validBytes, totalBytes: scan.totalBytes };
}

export class FileJournal implements Journal {
  private fd: number;
  private records: number;
  private bytes: number;
  private readonly window: MessageWindow;
  private readonly lock: JournalLock;
  private timer: ReturnType<typeof setInterval> | undefined;
  private dirty = false;
  private syncing = false;
  /** Descriptors replaced by a compaction while an fsync on them was in flight: closed when it ends. */
  private closeAfterSync: number[] = [];
  private failure: JournalWriteError | undefined;
  private readonly failureListeners: Array<(error: Error) => void> = [];
  private recovered: ChatState | undefined;
  private stateSource: (() => Readonly<ChatState>) | undefined;
  /** The grace timers of the running node (undefined: not started, or no runtime attached its timers). */
  private gracesSource: () => Array<[string, number]> | undefined = () => undefined;
  /** Lines appended while a compaction runs: copied into the new file before it replaces the old. */
  private pending: Buffer[] | undefined;
  private compactAbove: number;
  private closed = false;
  readonly recovery: RecoveryReport;

  constructor(private readonly options: FileJournalOptions) {
    const { path, logger } = options;
    mkdirSync(dirname(path), { recursive: true });
    this.lock = lockJournal(path);
    try {
      if (existsSync(`${path}${COMPACT_SUFFIX}`)) {
        rmSync(`${path}${COMPACT_SUFFIX}`);
        logger.warn({ path }, 'removed an unfinished compaction file: the journal itself is whole');
      }
      this.window = new MessageWindow(options, options.now);
      const loaded = loadJournalFile(path, (message) => this.window.push(message as Parameters<MessageWindow['push']>[0]));
      this.fd = openSync(path, 'a', 0o600);
      fchmodSync(this.fd, 0o600);
      if (loaded.validBytes < loaded.totalBytes) {
        ftruncateSync(this.fd, loaded.validBytes);
        fdatasyncSync(this.fd);
        logger.warn({ path, kept: loaded.records, droppedBytes: loaded.totalBytes - loaded.validBytes }, 'journal ended in a torn line (a partial last write): cut it');
      }
      this.recovery = { events: loaded.records, droppedBytes: loaded.totalBytes - loaded.validBytes };
      this.recovered = loaded.state;
      this.records = loaded.records;
      this.bytes = loaded.validBytes;
    } catch (error) {
      this.lock.release();
      throw error;
    }
    this.compactAbove = options.maxBytes;
    if (options.fsync === 'interval') {
      this.timer = setInterval(() => this.syncSoon(), options.fsyncMs);
      this.timer.unref();
    }
  }

  get size(): number {
    return this.records;
  }

  /** Bytes in the file now. */
  get fileBytes(): number {
    return this.bytes;
  }

  get compacting(): boolean {
    return this.pending !== undefined;
  }

  watchFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
    if (this.failure) listener(this.failure);
  }

  /** The live state, which online compaction snapshots (it is the fold of everything appended), and the grace timers then running. */
  attachState(source: () => Readonly<ChatState>, graces?: () => Array<[string, number]> | undefined): void {
    this.stateSource = source;
    if (graces) this.gracesSource = graces;
    this.compactIfDue();
  }

  append(event: DomainEvent): void {
    if (this.failure) throw this.failure;
    const line = encodeRecord(event);
    try {
      writeWhole(this.fd, line);
      if (this.options.fsync === 'always') fdatasyncSync(this.fd);
      else this.dirty = true;
    } catch (error) {
      throw this.fail(error);
    }
    this.bytes += line.length;
    this.records += 1;
    this.pending?.push(line);
    if (isMessageEvent(event)) this.window.push(event);
    this.compactIfDue();
  }

  /** The state folded at start (first call), or the file folded as it stands now: what a restart would see. */
  rebuild(): ChatState {
    const recovered = this.recovered;
    this.recovered = undefined;
    return recovered ?? loadJournalFile(this.options.path).state;
  }

  history(after: number, limit?: number): HistoryPage {
    return this.window.page(after, limit);
  }

  conversation(conversation: Conversation, before: number, limit: number): ConversationPage {
    return this.window.conversation(conversation, before, limit);
  }

  private fail(error: unknown): JournalWriteError {
    if (this.failure) return this.failure;
    this.failure = error instanceof JournalWriteError ? error : new JournalWriteError(this.options.path, error);
    for (const listener of this.failureListeners) listener(this.failure);
    return this.failure;
  }

  private compactIfDue(): void {
    if (this.bytes <= this.compactAbove || this.pending || !this.stateSource || this.failure || this.closed) return;
    const source = this.stateSource;
    this.pending = [];
    // The next turn: the event just appended has been applied by then, so the state is the fold of the file.
    setImmediate(() => void this.compact(source));
  }

  private async compact(source: () => Readonly<ChatState>): Promise<void> {
    const { path, logger } = this.options;
    const before = this.bytes;
    logger.info({ path, bytes: before }, 'journal compaction started');
    try {
      const report = await compactOnline({
        path,
        state: source,
        graces: this.gracesSource,
        now: this.options.now ?? Date.now,
        window: () => this.window.page(0).messages,
        restart: () => (this.pending = []),
        takePending: () => this.pending!.splice(0),
        stillWanted: () => !this.failure && !this.closed,
        swap: (newFd, bytes, records) => {
          const old = this.fd;
          this.fd = newFd;
          this.bytes = bytes;
          this.records = records;
          if (this.syncing) this.closeAfterSync.push(old);
          else closeSync(old);
        },
      });
      if (report) {
        this.compactAbove = Math.max(this.options.maxBytes, report.bytes * 2);
        logger.info({ path, beforeBytes: before, ...report }, 'journal compacted online');
      }
    } catch (error) {
      this.compactAbove = this.bytes + Math.max(1, this.options.maxBytes >>> 2);
      logger.error({ err: error, path }, 'journal compaction failed; the journal itself is whole, retrying after it grows');
    } finally {
      this.pending = undefined;
    }
  }

  private syncSoon(): void {
    if (!this.dirty || this.syncing || this.failure) return;
    this.dirty = false;
    this.syncing = true;
    fdatasync(this.fd, (error) => {
      this.syncing = false;
      for (const old of this.closeAfterSync.splice(0)) closeSync(old);
      if (error && !this.closed) {
        this.fail(error);
        this.options.logger.fatal({ err: error, path: this.options.path }, 'journal fsync failed');
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      if (this.options.fsync !== 'never' && !this.failure) fdatasyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.lock.release();
    }
  }
}

/** write(2) until the whole buffer is in the file: a short write is continued; zero bytes written is an error. */
export function writeWhole(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) {
    const written = writeSync(fd, data, offset, data.length - offset);
    if (written <= 0) throw Object.assign(new Error(`short write: ${offset} of ${data.length} bytes written`), { code: 'ESHORTWRITE' });
    offset += written;
  }
}
