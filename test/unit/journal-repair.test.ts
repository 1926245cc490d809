import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/domain/events.ts';
import { sessionRefused } from '../../src/domain/state.ts';
import { encodeRecord } from '../../src/journal/codec.ts';
import { loadJournalFile } from '../../src/journal/file.ts';
import { lockJournal } from '../../src/journal/lock.ts';
import { MIN_MESSAGE_RECORD_BYTES, checkJournal, repairJournal } from '../../src/journal/repair.ts';
import { runJournalCli } from '../../src/journal/cli.ts';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'repair-'));
  path = join(dir, 'events.log');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lines = (records: DomainEvent[]): string => records.map((record) => encodeRecord(record).toString()).join('');
const message = (id: number): DomainEvent => ({ type: 'GroupMessagePosted', id, from: 'a', text: `m${id}`, ts: 1_800_000_000_000 });
const started = (sid: string): DomainEvent => ({ type: 'SessionStarted', sid, user: sid, exp: 9e9, at: 1 });
const ended = (sid: string): DomainEvent => ({ type: 'SessionEnded', sid, user: sid, exp: 9e9, reason: 'logout', at: 2 });
/** A record line with its checksum broken, its JSON still readable. */
const broken = (record: DomainEvent): string => encodeRecord(record).toString().replace(/ [0-9a-f]{8}\n$/, ' 00000000\n');

describe('journal repair', () => {
  it('the shortest message record is at least MIN_MESSAGE_RECORD_BYTES long (the sequence floor relies on it)', () => {
    const shortest: DomainEvent = { type: 'GroupMessagePosted', id: 1, from: 'a', text: '', ts: 0 };
    expect(encodeRecord(shortest).length).toBeGreaterThanOrEqual(MIN_MESSAGE_RECORD_BYTES);
  });

  it('sets the bad tail aside, re-appends what still verifies, raises the sequence, refuses every session issued before it', () => {
    const garbage = 'x'.repeat(300) + '\n';
    writeFileSync(
      path,
      lines([started('alice'), started('bob'), message(1), message(2)]) + garbage + broken(ended('carol')) + broken(message(9)) + lines([message(3), ended('bob')]),
    );
    expect(checkJournal(path)).toMatchObject({ records: 6, badLines: 3, startable: false, firstBad: { line: 5, reason: 'no checksum' } });
    const report = repairJournal(path, () => Date.UTC(2026, 0, 1));
    expect(report).toMatchObject({ keptRecords: 4, salvagedRecords: 2, lostLines: 3 });
    expect(report.aside).toBe(`${path}.bad-${lines([started('alice'), started('bob'), message(1), message(2)]).length}-20260101T000000Z`);
    expect(readFileSync(report.aside!, 'utf8').startsWith(garbage)).toBe(true);
    const { state } = loadJournalFile(path);
    // Lost: 300 bytes of garbage and two lines; a readable lost message had id 9.
    expect(state.seq).toBe(Math.max(9, 3 + Math.ceil(report.lostBytes / MIN_MESSAGE_RECORD_BYTES)));
    // bob's logout was salvaged, carol's is readable in a lost line; alice (and any session the lost bytes
    // started) is refused by the cutoff the repair's snapshot sets: issued before the repair.
    expect([...state.revoked.keys()].sort()).toEqual(['bob', 'carol']);
    const repairedAt = Date.UTC(2026, 0, 1);
    expect(state.sessionsCutoff).toBe(repairedAt);
    const issuedAt = (ms: number) => ({ sid: 'alice', user: 'alice', issuedAt: ms });
    expect(sessionRefused(state, issuedAt(repairedAt - 3_600_000))).toBe(true);
    expect(sessionRefused(state, { ...issuedAt(repairedAt - 3_600_000), sid: 'lost-in-the-garbage' })).toBe(true);
    expect(sessionRefused(state, issuedAt(repairedAt))).toBe(true);
    expect(sessionRefused(state, issuedAt(repairedAt + 1))).toBe(false);
    expect(checkJournal(path).startable).toBe(true);
    expect(readdirSync(dir).filter((name) => name.includes('.bad-'))).toHaveLength(1);
  });

  it('does nothing to a clean file, and refuses while a node holds the journal', () => {
    writeFileSync(path, lines([message(1)]));
    expect(repairJournal(path).aside).toBeUndefined();
    const lock = lockJournal(path);
    const err: string[] = [];
    expect(runJournalCli(['repair', path], () => {}, (text) => err.push(text))).toBe(1);
    expect(err.join('\n')).toMatch(/in use by another process \(pid \d+/);
    lock.release();
  });

  it('the CLI: exit 0 for a startable file, 1 for a bad one, 2 for bad usage', () => {
    writeFileSync(path, lines([message(1)]) + '{"type":"Gr');
    const out: string[] = [];
    expect(runJournalCli(['check', path], (text) => out.push(text), () => {})).toBe(0);
    expect(out.join('\n')).toContain('torn');
    writeFileSync(path, broken(message(1)) + lines([message(2)]));
    expect(runJournalCli(['check', path, '--json'], (text) => out.push(text), () => {})).toBe(1);
    expect(JSON.parse(out.at(-1)!)).toMatchObject({ firstBad: { offset: 0 }, records: 1 });
    expect(runJournalCli(['fix', path], () => {}, () => {})).toBe(2);
    expect(runJournalCli(['check'], () => {}, () => {})).toBe(2);
    expect(runJournalCli(['check', path, '--bogus'], () => {}, () => {})).toBe(2);
  });
});
