import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DomainEvent } from '../../src/domain/events.ts';
import { describeState, replay } from '../../src/domain/state.ts';
import { FileJournal, readJournalFile } from '../../src/journal/file.ts';

let dir: string;
let path: string;
const logger = pino({ level: 'silent' });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journal-'));
  path = join(dir, 'nested', 'events.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function open(compactAbove = 1_000_000) {
  return new FileJournal({ path, fsync: 'always', fsyncMs: 1000, compactAbove, maxMessages: 3, maxAgeMs: 1e13, logger });
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

describe('file journal', () => {
  it('keeps every appended event across a reopen, with the message window', async () => {
    const journal = open();
    for (const event of events(5)) journal.append(event);
    await journal.close();
    const reopened = open();
    expect(describeState(reopened.rebuild())).toEqual(describeState(replay(events(5))));
    expect(reopened.history(0).messages.map((m) => m.id)).toEqual([3, 4, 5]);
    await reopened.close();
  });

  it('cuts a corrupt line and everything after it, keeping the valid prefix', async () => {
    const journal = open();
    for (const event of events(3)) journal.append(event);
    await journal.close();
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[4] = lines[4]!.replace('online', 'grace!'); // checksum no longer matches
    writeFileSync(path, lines.join('\n'));
    expect(readJournalFile(path).events).toHaveLength(4);
    const reopened = open();
    expect(reopened.recovery).toMatchObject({ events: 4, droppedLines: 5 });
    reopened.append({ type: 'GroupMessagePosted', id: 2, from: 'u1', text: 'again', ts: Date.now() });
    await reopened.close();
    expect(readJournalFile(path).events).toHaveLength(5);
  });

  it('compacts a long journal to a snapshot plus the message window on open, keeping the state', async () => {
    const journal = open();
    for (const event of events(20)) journal.append(event);
    await journal.close();
    const compacted = open(10);
    expect(compacted.size).toBe(4);
    expect(describeState(compacted.rebuild())).toEqual(describeState(replay(events(20))));
    expect(compacted.history(0).messages.map((m) => m.id)).toEqual([18, 19, 20]);
    await compacted.close();
    expect(readJournalFile(path).events[0]!.type).toBe('Snapshot');
  });
});
