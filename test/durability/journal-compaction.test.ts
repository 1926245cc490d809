/**
 * The journal on real processes: one writer per file, SIGKILL in the middle of an online compaction,
 * and start-up memory on a large journal (read as a stream, not whole).
 */
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/domain/events.ts';
import { encodeRecord } from '../../src/journal/codec.ts';
import { journalNodes } from '../support/journal-node.ts';
import { launchNode, type NodeProcess } from '../support/node-process.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const nodes = journalNodes({ CHAT_SESSION_SECRET: 's'.repeat(40), CHAT_GRACE_MS: '0' });
const { journalPath, env, start, login, revokedSession, online } = nodes;

/** Appends `records` to the journal file, in 1 MiB writes. */
function appendRecords(records: Iterable<DomainEvent>): void {
  const fd = openSync(journalPath(), 'a');
  let batch: Buffer[] = [];
  let size = 0;
  const flush = (): void => {
    writeSync(fd, Buffer.concat(batch, size));
    batch = [];
    size = 0;
  };
  for (const record of records) {
    const line = encodeRecord(record);
    batch.push(line);
    size += line.length;
    if (size > 1 << 20) flush();
  }
  flush();
  closeSync(fd);
}

/** Logs carol in and out, posts m1..m5 as alice, stops the node cleanly; returns carol's (revoked) token and the last id. */
const peakRssBytes = (pid: number): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

async function history(): Promise<{ carol: string; lastId: number; peak: number }> {
  const first = await start();
  const carol = await revokedSession(first, 'carol');
  const alice = await online(first, 'alice');
  for (let i = 1; i <= 5; i++) alice.send({ type: 'message', text: `m${i}` });
  const last = await alice.next((frame) => frame.type === 'receive' && frame.text === 'm5');
  const peak = peakRssBytes(first.child.pid!);
  first.child.kill('SIGTERM');
  expect((await first.exited).code).toBe(0);
  return { carol, lastId: last.id as number, peak };
}

/** The node remembers everything: carol's session revoked, the sequence at `lastId`, the next id `lastId + 1`. */
async function expectWhole(node: NodeProcess, carol: string, lastId: number): Promise<void> {
  expect((await fetch(`${node.url}/list-users`, { headers: bearer(carol) })).status).toBe(401);
  const dave = await TestClient.connect(node.wsUrl, bearer(await login(node, 'dave')));
  nodes.keepClient(dave);
  expect((await dave.nextOfType('welcome')).seq).toBe(lastId);
  dave.send({ type: 'message', text: 'next' });
  expect((await dave.next((frame) => frame.type === 'receive' && frame.text === 'next')).id).toBe(lastId + 1);
  await dave.close();
}

describe('journal on real processes', () => {
  it('one writer: a second node on the same journal exits 1 saying which process holds it', async () => {
    nodes.open('actor-chat-lock-');
    const first = await start();
    const second = launchNode(env());
    nodes.keepNode(second);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr()).toContain(`${journalPath()} is in use by another process (pid ${first.child.pid} `);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    expect(statSync(journalPath()).mode & 0o777).toBe(0o600);
  }, 60_000);

  it('SIGKILL during an online compaction leaves a journal that starts with everything; a finished one too', async () => {
    nodes.open('actor-chat-compact-');
    const { carol, lastId: before } = await history();
    // A state big enough that the compaction takes a while: 100,000 revoked sessions (the fold keeps each until
    // its token expires), 3,000 more messages.
    const filler = function* (): Generator<DomainEvent> {
      for (let i = 0; i < 100_000; i++) yield { type: 'SessionEnded', sid: `filler-${i}`, user: `f${i}`, exp: 9_999_999_999, reason: 'logout', at: 1 };
      for (let id = before + 1; id <= before + 3000; id++) yield { type: 'GroupMessagePosted', id, from: 'f1', text: `filler ${id}`, ts: Date.now() };
    };
    appendRecords(filler());
    const lastId = before + 3000;
    const sizeBefore = statSync(journalPath()).size;

    const killed = launchNode(env({ CHAT_JOURNAL_MAX_BYTES: '65536' }));
    nodes.keepNode(killed);
    // The log line comes before the compaction copies the state; serialising and writing its 100,000 revocations
    // a piece per turn then takes far longer than the signal takes to arrive (checked below).
    await killed.waitForLog((line) => line.msg === 'journal compaction started');
    killed.child.kill('SIGKILL');
    expect((await killed.exited).signal).toBe('SIGKILL');
    // The kill landed before the new file replaced the journal.
    expect(killed.logs.some((line) => line.msg === 'journal compacted online')).toBe(false);

    const compacting = await start({ CHAT_JOURNAL_MAX_BYTES: '65536' });
    const done = await compacting.waitForLog((line) => line.msg === 'journal compacted online');
    expect(existsSync(`${journalPath()}.compact`)).toBe(false);
    expect(done.bytes as number).toBeLessThan(sizeBefore);
    await expectWhole(compacting, carol, lastId);
    compacting.child.kill('SIGKILL');
    await compacting.exited;

    const after = await start();
    await expectWhole(after, carol, lastId + 1);
    process.stdout.write(`compaction of ${sizeBefore} bytes: ${JSON.stringify(done)}\n`);
  }, 120_000);

  it('starts on a 256 MiB journal with a 64 MB V8 heap: the file is read as a stream', async () => {
    nodes.open('actor-chat-big-');
    const { carol, lastId, peak: smallPeak } = await history();
    // 1 MiB of socket open/close pairs (they fold to nothing), written 256 times.
    const pair: DomainEvent[] = [
      { type: 'SocketOpened', user: 'filler', socket: 1, at: 1 },
      { type: 'SocketClosed', user: 'filler', socket: 1, at: 1 },
    ];
    const unit = Buffer.concat(pair.map((record) => encodeRecord(record)));
    const chunk = Buffer.concat(Array.from({ length: Math.ceil((1 << 20) / unit.length) }, () => unit));
    const fd = openSync(journalPath(), 'a');
    for (let i = 0; i < 256; i++) writeSync(fd, chunk);
    closeSync(fd);
    const size = statSync(journalPath()).size;
    expect(size).toBeGreaterThan(256 * 2 ** 20);

    const started = performance.now();
    const node = await start({ CHAT_JOURNAL_MAX_BYTES: String(2 ** 40) }, { nodeArgs: ['--max-old-space-size=64'] });
    const peak = peakRssBytes(node.child.pid!);
    const mib = (value: number): number => Math.round(value / 2 ** 20);
    process.stdout.write(`started on ${size} bytes in ${Math.round(performance.now() - started)} ms; peak RSS ${mib(peak)} MiB (${mib(smallPeak)} MiB on a small journal)\n`);
    // Read whole, the file alone would add its 256 MiB (and its 2.7 million records would not fit a 64 MB heap);
    // streamed, start-up adds what the heap's garbage between collections takes, well under half the file.
    expect(peak - smallPeak).toBeLessThan(size / 2);
    await expectWhole(node, carol, lastId);
  }, 180_000);
});
