import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DomainEvent } from '../../src/domain/events.ts';
import { describeState, replay } from '../../src/domain/state.ts';
import { FileJournal, JournalCorruptError, writeWhole, type FileJournalOptions } from '../../src/journal/file.ts';
import { JournalLockedError } from '../../src/journal/lock.ts';
import { readJournalFile, readLines } from '../../src/journal/scan.ts';

let dir: string;
let path: string;
const logger = pino({ level: 'silent' });
const opened: FileJournal[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journal-'));
  path = join(dir, 'nested', 'events.log');
});
afterEach(async () => {
  for (const journal of opened.splice(0)) await journal.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(options: Partial<FileJournalOptions> = {}): FileJournal {
  const journal = new FileJournal({ path, fsync: 'always', fsyncMs: 1000, maxBytes: 1 << 30, maxMessages: 3, maxAgeMs: 1e13, logger, ...options });
  opened.push(journal);
  return journal;
}

async function reopen(journal: FileJournal, options: Partial<FileJournalOptions> = {}): Promise<FileJournal> {
  await journal.close();
  opened.splice(opened.indexOf(journal), 1);
  return open(options);
}

/** Leaves a journal file holding the records of `events(count)`, closed, for a test to damage and open again. */
async function writeAndClose(count: number): Promise<void> {
  const journal = open();
  for (const event of events(count)) journal.append(event);
  await journal.close();
  opened.splice(0);
}

/** What opening the journal throws (undefined when it opens): for the tests that look into the error. */
function openError(): unknown {
  try {
    open();
  } catch (caught) {
    return caught;
  }
  return undefined;
}

function events(count: number): DomainEvent[] {
  const list: DomainEvent[] = [];
  for (let i = 1; i <= count; i++) {
    list.push({ type: 'SessionStarted', sid: `s${i}`, user: `u${i % 4}`, exp: 9e9, at: i });
    list.push({ type: 'PresenceChanged', user: `u${i % 4}`, status: 'online', previous: 'offline', at: i });
    list.push({ type: 'GroupMessagePosted', id: i, from: `u${i % 4}`, text: `t${i}`, ts: Date.now() });
  }
  return list;
}

/** Byte offset of line `index` (0-based) of the file. */
function offsetOfLine(index: number): number {
  const lines = readFileSync(path, 'utf8').split('\n');
  return lines.slice(0, index).reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
}

describe('file journal', () => {
  it('keeps every appended event across a reopen, with the message window; the file is 0600', async () => {
    const journal = open();
    for (const event of events(5)) journal.append(event);
    const reopened = await reopen(journal);
    expect(describeState(reopened.rebuild())).toEqual(describeState(replay(events(5))));
    expect(reopened.history(0).messages.map((m) => m.id)).toEqual([3, 4, 5]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}.lock`).mode & 0o777).toBe(0o600);
  });

  it('writes in append mode (O_APPEND), so every write lands at the end of the file', () => {
    const journal = open();
    const fd = (journal as unknown as { fd: number }).fd;
    const flags = Number.parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
    expect(flags & 0o2000).toBe(0o2000);
  });

  it('cuts a torn last line (no newline) and starts, reporting the bytes cut', async () => {
    await writeAndClose(2);
    appendFileSync(path, '{"type":"GroupMessagePosted","id":3,"fr');
    const reopened = open();
    expect(reopened.recovery).toEqual({ events: 6, droppedBytes: 39 });
    reopened.append({ type: 'GroupMessagePosted', id: 3, from: 'u1', text: 'next', ts: Date.now() });
    expect(readJournalFile(path)).toMatchObject({ records: 7, end: { kind: 'clean' } });
  });

  it('refuses to open on a bad record in the middle, naming the file and the byte offset, and leaves the file alone', async () => {
    await writeAndClose(3);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[4] = lines[4]!.replace('online', 'grace!');
    writeFileSync(path, lines.join('\n'));
    const before = readFileSync(path);
    const error = openError();
    expect(error).toBeInstanceOf(JournalCorruptError);
    expect(error).toMatchObject({ path, offset: offsetOfLine(4), line: 5, reason: 'checksum mismatch' });
    expect((error as Error).message).toContain(`npm run journal -- repair ${path}`);
    expect(readFileSync(path)).toEqual(before);
    // The refused open let go of its lock: a later open (after a repair) is not told the file is in use.
    expect(() => open()).toThrow(JournalCorruptError);
  });

  it('refuses a complete last line whose checksum fails: only a line without its newline counts as torn', async () => {
    await writeAndClose(1);
    appendFileSync(path, '{"type":"SessionEnded","sid":"s1","user":"u1","exp":9e9,"reason":"logout","at":2} 00000000\n');
    expect(() => open()).toThrow(JournalCorruptError);
  });

  it('lets one journal hold the file: a second open is refused, saying who holds it', () => {
    open();
    const error = openError();
    expect(error).toBeInstanceOf(JournalLockedError);
    expect((error as Error).message).toContain(`pid ${process.pid}`);
  });

  it('fails for good on a write error: the listener hears once, every later append throws', () => {
    const journal = open();
    const heard: Error[] = [];
    journal.watchFailure((error) => heard.push(error));
    journal.append(events(1)[0]!);
    // The descriptor is taken away under the journal: the next write(2) fails with EBADF.
    (journal as unknown as { fd: number }).fd = 1_000_000;
    expect(() => journal.append(events(1)[1]!)).toThrow(/EBADF/);
    expect(() => journal.append(events(1)[2]!)).toThrow(/EBADF/);
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ code: 'journal_write_failed', path });
    (journal as unknown as { fd: number }).fd = 0;
    opened.splice(0);
  });

  it('reads lines longer than its 1 MiB chunk, empty lines and an unfinished last line, with their byte offsets', () => {
    const long = 'y'.repeat(3 * 2 ** 20 + 17);
    writeFileSync(join(dir, 'lines'), `a\n${long}\n\nb\nccc`);
    expect([...readLines(join(dir, 'lines'))].map((line) => [line.offset, line.bytes, line.text.length, line.complete])).toEqual([
      [0, 2, 1, true],
      [2, long.length + 1, long.length, true],
      [long.length + 3, 1, 0, true],
      [long.length + 4, 2, 1, true],
      [long.length + 6, 3, 3, false],
    ]);
  });

  it('writes a whole buffer or throws', () => {
    expect(() => writeWhole(1_000_000, Buffer.from('x\n'))).toThrow(/EBADF/);
  });
});

describe('online compaction', () => {
  it('past maxBytes rewrites the file as window + snapshot while appends go on, losing nothing', async () => {
    const logs: Array<Record<string, unknown>> = [];
    let compacted: (line: Record<string, unknown>) => void = () => {};
    const done = new Promise<Record<string, unknown>>((resolve) => (compacted = resolve));
    const capture = pino({ level: 'info' }, {
      write(line: string) {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        if (parsed.msg === 'journal compacted online') compacted(parsed);
      },
    });
    const journal = open({ maxBytes: 20_000, logger: capture });
    const live = replay([]);
    journal.attachState(() => live);
    const all = events(400);
    let next = 0;
    const appendOne = (): void => {
      const event = all[next++]!;
      journal.append(event);
      replay([event], live);
    };
    while (!journal.compacting) appendOne();
    const sizeBefore = journal.fileBytes;
    // Appends keep coming while the compaction works, one per turn.
    while (journal.compacting && next < all.length) {
      appendOne();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const report = await done;
    while (next < all.length) appendOne();
    expect(report.appendsDuring).toBeGreaterThan(0);
    expect(report.bytes).toBeLessThan(sizeBefore);
    const reopened = await reopen(journal);
    expect(describeState(reopened.rebuild())).toEqual(describeState(replay(all)));
    expect(reopened.history(0).messages.map((m) => m.id)).toEqual([398, 399, 400]);
    expect(readJournalFile(path).events.filter((record) => record.type === 'Snapshot')).toHaveLength(1);
    expect(logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
