/**
 * @module journal/file
 * The durable journal: an append-only file of JSON lines, each followed by a short checksum
 * (`<json> <sha1[0..8]>\n`). Every append is written with one write(2) before the event takes
 * effect, so a killed process loses nothing it announced; fsync follows the configured policy
 * (`always`: after every append; `interval`: every `fsyncMs`; `never`: left to the OS).
 * On open, a torn or corrupt tail is detected, the valid prefix kept and the rest cut off.
 */
import { createHash } from 'node:crypto';
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, existsSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { isMessageEvent, type DomainEvent } from '../domain/events.ts';
import { createChatState, evolve, type ChatState } from '../domain/state.ts';
import { fromSnapshot, toSnapshot, type StateSnapshot } from '../domain/snapshot.ts';
import { MessageWindow } from './history.ts';
import type { Conversation, ConversationPage, HistoryLimits, HistoryPage, Journal } from './journal.ts';

export type FsyncPolicy = 'always' | 'interval' | 'never';

/** A checkpoint line written by compaction: the folded state of every event before it. */
export interface SnapshotRecord {
  type: 'Snapshot';
  state: StateSnapshot;
}

export type JournalRecord = DomainEvent | SnapshotRecord;

export interface FileJournalOptions extends HistoryLimits {
  path: string;
  /** On open, a journal with more records than this is compacted to a snapshot plus the message window. */
  compactAbove: number;
  fsync: FsyncPolicy;
  fsyncMs: number;
  logger: Logger;
  now?: () => number;
}

export interface RecoveryReport {
  events: number;
  droppedBytes: number;
  droppedLines: number;
}

const checksum = (json: string): string => createHash('sha1').update(json).digest('hex').slice(0, 8);

/** Reads the valid prefix of a journal file: every line whose checksum matches, up to the first that does not. */
export function readJournalFile(path: string): { events: JournalRecord[]; validBytes: number; totalBytes: number; droppedLines: number } {
  if (!existsSync(path)) return { events: [], validBytes: 0, totalBytes: 0, droppedLines: 0 };
  const content = readFileSync(path);
  const events: JournalRecord[] = [];
  let offset = 0;
  while (offset < content.length) {
    const end = content.indexOf(0x0a, offset);
    if (end === -1) break; // torn: the last write never finished its line
    const line = content.subarray(offset, end).toString('utf8');
    const space = line.lastIndexOf(' ');
    const json = line.slice(0, space);
    if (space <= 0 || checksum(json) !== line.slice(space + 1)) break;
    try {
      events.push(JSON.parse(json) as JournalRecord);
    } catch (error) {
      // A checksum collision on garbage is vanishingly rare, but still not a reason to crash the node.
      if (!(error instanceof SyntaxError)) throw error;
      break;
    }
    offset = end + 1;
  }
  const rest = content.subarray(offset).toString('utf8');
  const droppedLines = rest === '' ? 0 : rest.split('\n').filter((line) => line !== '').length;
  return { events, validBytes: offset, totalBytes: content.length, droppedLines };
}

/** Folds journal records: a snapshot replaces the state, an event evolves it. */
export function foldRecords(records: Iterable<JournalRecord>): ChatState {
  let state = createChatState();
  for (const record of records) {
    if (record.type === 'Snapshot') state = fromSnapshot(record.state);
    else evolve(state, record);
  }
  return state;
}

function encode(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  return Buffer.from(`${json} ${checksum(json)}\n`);
}

export class FileJournal implements Journal {
  private fd: number;
  private records = 0;
  private readonly window: MessageWindow;
  private timer: ReturnType<typeof setInterval> | undefined;
  private dirty = false;
  readonly recovery: RecoveryReport;

  constructor(private readonly options: FileJournalOptions) {
    mkdirSync(dirname(options.path), { recursive: true });
    const found = readJournalFile(options.path);
    this.fd = openSync(options.path, existsSync(options.path) ? 'r+' : 'w+');
    if (found.validBytes < found.totalBytes) {
      ftruncateSync(this.fd, found.validBytes);
      fdatasyncSync(this.fd);
    }
    this.recovery = { events: found.events.length, droppedBytes: found.totalBytes - found.validBytes, droppedLines: found.droppedLines };
    if (this.recovery.droppedBytes > 0) {
      options.logger.warn(
        { path: options.path, kept: found.events.length, droppedBytes: this.recovery.droppedBytes, droppedLines: found.droppedLines },
        'journal had a torn or corrupt tail: kept the valid prefix and cut the rest',
      );
    }
    this.window = new MessageWindow(options, options.now);
    for (const record of found.events) if (record.type !== 'Snapshot' && isMessageEvent(record)) this.window.push(record);
    this.records = found.events.length;
    this.position = found.validBytes;
    if (this.records > options.compactAbove) this.compact(found.events);
    if (options.fsync === 'interval') {
      this.timer = setInterval(() => this.syncSoon(), options.fsyncMs);
      this.timer.unref();
    }
  }

  private position: number;

  get size(): number {
    return this.records;
  }

  /** Rewrites the file as one snapshot plus the messages still in the window, atomically (write, fsync, rename). */
  private compact(records: JournalRecord[]): void {
    const state = foldRecords(records);
    const temporary = `${this.options.path}.compact`;
    const fd = openSync(temporary, 'w');
    let position = 0;
    const write = (record: JournalRecord): void => {
      const line = encode(record);
      position += writeSync(fd, line, 0, line.length, position);
    };
    write({ type: 'Snapshot', state: toSnapshot(state) });
    const kept = this.window.page(0).messages;
    // Messages in the window are replayed on top of the snapshot: their only effect on state is seq, already there.
    for (const message of kept) write(message);
    fdatasyncSync(fd);
    closeSync(fd);
    renameSync(temporary, this.options.path);
    closeSync(this.fd);
    this.fd = openSync(this.options.path, 'r+');
    this.position = position;
    this.options.logger.info({ path: this.options.path, before: records.length, after: kept.length + 1 }, 'journal compacted');
    this.records = kept.length + 1;
  }

  append(event: DomainEvent): void {
    const line = encode(event);
    this.position += writeSync(this.fd, line, 0, line.length, this.position);
    if (this.options.fsync === 'always') fdatasyncSync(this.fd);
    else this.dirty = true;
    this.records += 1;
    if (isMessageEvent(event)) this.window.push(event);
  }

  /** Folds the file as it stands: what a restart would see. */
  rebuild(): ChatState {
    return foldRecords(readJournalFile(this.options.path).events);
  }

  history(after: number, limit?: number): HistoryPage {
    return this.window.page(after, limit);
  }

  conversation(conversation: Conversation, before: number, limit: number): ConversationPage {
    return this.window.conversation(conversation, before, limit);
  }

  private syncSoon(): void {
    if (!this.dirty) return;
    this.dirty = false;
    fdatasync(this.fd, (error) => {
      if (error) this.options.logger.error({ err: error, path: this.options.path }, 'journal fsync failed');
    });
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.options.fsync !== 'never') fdatasyncSync(this.fd);
    closeSync(this.fd);
  }
}
