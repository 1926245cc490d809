/**
 * The fold's snapshot and trimming the log, against a real redis-server: a snapshot is only ever
 * replaced by a newer one; a trim never goes below the snapshot or the history window's floor; a node
 * started from the snapshot after a trim reads only the tail; and a node whose unread entries were
 * trimmed away stops (`lost`) instead of folding a log with a hole in it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Verdict } from '../../src/engine/log.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { group, messageIds, redisForFile, startNode, uniqueTag, type TestNode } from './helpers.ts';

const TTL = 3000;
const { redis, start, create } = redisForFile(TTL);
let extra: { nodes: TestNode[]; proxies: TcpProxy[] } = { nodes: [], proxies: [] };

afterEach(async () => {
  await Promise.all(extra.nodes.map((node) => node.log.close()));
  await Promise.all(extra.proxies.map((proxy) => proxy.close()));
  extra = { nodes: [], proxies: [] };
});

function committedId(verdict: Verdict): string {
  if (verdict.status !== 'committed') throw new Error(`expected committed, got ${JSON.stringify(verdict)}`);
  return verdict.id;
}

async function appendMessages(node: TestNode, count: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index++) ids.push(committedId(await node.log.propose(group('ann', `${prefix}${index}`)).verdict));
  return ids;
}

async function streamIds(node: TestNode): Promise<string[]> {
  const entries = await node.log.command<Array<[string, string[]]>>(['XRANGE', node.log.keys.log, '-', '+']);
  return entries.map(([id]) => id);
}

describe('snapshot and trim', () => {
  it('replaces a snapshot only with a newer one, whichever node saves first', async () => {
    const tag = uniqueTag();
    const [a, b] = [start(tag), start(tag)];
    await Promise.all([a.reach('ready'), b.reach('ready')]);
    expect(await a.log.loadSnapshot()).toBeUndefined();
    const ids = await appendMessages(a, 20, 's');
    expect(await a.log.saveSnapshot(ids[10]!, '{"fold":10}')).toBe(true);
    expect(await b.log.saveSnapshot(ids[5]!, '{"fold":5}')).toBe(false);
    expect(await b.log.saveSnapshot(ids[10]!, '{"fold":"again"}')).toBe(false);
    expect(await b.log.loadSnapshot()).toEqual({ id: ids[10], data: '{"fold":10}' });
    const raced = await Promise.all([a.log.saveSnapshot(ids[12]!, '{"fold":12}'), b.log.saveSnapshot(ids[16]!, '{"fold":16}')]);
    expect(raced[1]).toBe(true);
    expect(await a.log.loadSnapshot()).toEqual({ id: ids[16], data: '{"fold":16}' });
    expect(await a.log.saveSnapshot(ids[12]!, '{"fold":12}')).toBe(false);
    expect(await b.log.loadSnapshot()).toEqual({ id: ids[16], data: '{"fold":16}' });
  });

  it('trims below the lower of the snapshot and the window floor, never without a snapshot', async () => {
    const [node] = [start(uniqueTag())];
    await node!.reach('ready');
    const ids = await appendMessages(node!, 20, 't');
    expect(await node!.log.trim(ids[15]!)).toBe(0); // no snapshot: nothing
    expect(await streamIds(node!)).toEqual(ids);
    await node!.log.saveSnapshot(ids[10]!, '{}');
    expect(await node!.log.trim(ids[15]!)).toBe(10); // the snapshot is lower: down to it, the snapshot's entry kept
    expect(await streamIds(node!)).toEqual(ids.slice(10));
    expect(await node!.log.trim(ids[2]!)).toBe(0);
    await node!.log.saveSnapshot(ids[18]!, '{}');
    expect(await node!.log.trim(ids[14]!)).toBe(4); // the window floor is lower: down to it
    expect(await streamIds(node!)).toEqual(ids.slice(14));
    expect(await node!.log.command<string>(['HGET', node!.log.keys.snapshot, 'trimmed'])).toBe(ids[13]);
    expect(node!.log.stats()).toMatchObject({ state: 'ready', errors: { trimmed: 0 } });
  });

  it('starts a node after a trim from the snapshot: it reads only the tail, then follows the log', async () => {
    const tag = uniqueTag();
    const writer = start(tag);
    await writer.reach('ready');
    const before = await appendMessages(writer, 30, 'old');
    committedId(await writer.log.propose({ type: 'UserAttached', user: 'ann', node: writer.log.node, sid: 's1', at: 1 }).verdict);
    const covered = (await appendMessages(writer, 5, 'mid')).at(-1)!;
    await writer.log.saveSnapshot(covered, JSON.stringify({ seq: 35, online: ['ann'] }));
    expect(await writer.log.trim(covered)).toBe(before.length + 1 + 4);
    const after = await appendMessages(writer, 5, 'new');
    const late = create(tag);
    const snapshot = await late.log.loadSnapshot(); // before start(): a connection of its own
    expect(snapshot).toEqual({ id: covered, data: '{"seq":35,"online":["ann"]}' });
    late.log.start(snapshot!.id);
    await late.reach('ready');
    expect(late.entries.map((entry) => entry.id)).toEqual(after);
    expect(messageIds(late.entries)).toEqual([36, 37, 38, 39, 40]);
    const next = await late.log.propose(group('bob', 'from the late node')).verdict;
    expect(next).toMatchObject({ status: 'committed', seq: 41 });
    await writer.until((entries) => entries.some((entry) => entry.seq === 41));
    expect(late.log.stats()).toMatchObject({ state: 'ready', lagEntries: 0, errors: { trimmed: 0 } });
    expect(writer.log.stats().errors.trimmed).toBe(0);
  });

  it('stops a node whose unread entries were trimmed (started without the snapshot, or from an older one)', async () => {
    const tag = uniqueTag();
    const writer = start(tag);
    await writer.reach('ready');
    const ids = await appendMessages(writer, 12, 'h');
    await writer.log.saveSnapshot(ids[3]!, '{"old":true}');
    await writer.log.saveSnapshot(ids[8]!, '{}');
    await writer.log.trim(ids[8]!);
    const cold = start(tag); // no snapshot: it would miss ids 1…8
    const stale = start(tag, ids[3]!); // the older snapshot: it would miss ids 5…8
    await Promise.all([cold.reach('lost'), stale.reach('lost')]);
    for (const node of [cold, stale]) {
      expect(node.states).toEqual(['lost']);
      expect(node.entries).toEqual([]);
      expect(node.log.stats().errors.trimmed).toBe(1);
      expect(await node.line((line) => line.msg === 'this node missed trimmed log entries: it stops')).toMatchObject({ trimmed: ids[7] });
      await expect(node.log.propose(group('ann', 'refused')).verdict).resolves.toEqual({ status: 'unavailable' });
    }
  });

  it('stops a running node that read past a trim of entries it had not read yet', async () => {
    const tag = uniqueTag();
    const proxy = await TcpProxy.start(redis().port);
    extra.proxies.push(proxy);
    const writer = start(tag);
    const behind = startNode({ url: `redis://127.0.0.1:${proxy.port}` }, { ttlMs: TTL, tag });
    extra.nodes.push(behind);
    await Promise.all([writer.reach('ready'), behind.reach('ready')]);
    // The behind node's replies wait in the proxy: it gets the first new entry only after the trim.
    proxy.pause();
    const ids = await appendMessages(writer, 10, 'p');
    await writer.log.saveSnapshot(ids[9]!, '{}');
    expect(await writer.log.trim(ids[9]!)).toBe(9);
    proxy.resume();
    // Reading on, it gets the first entry (held back) and then the tenth: a hole its count shows at a poll.
    await Promise.race([behind.reach('lost'), behind.until((entries) => entries.some((entry) => entry.id === ids[9]))]);
    const connection = behind.log.currentConnection;
    if (connection) await behind.log.pollTop(connection);
    await behind.reach('lost');
    expect(behind.log.stats().errors.trimmed).toBe(1);
    expect(behind.entries.length).toBeLessThan(10);
    const writerConnection = writer.log.currentConnection!;
    await writer.log.pollTop(writerConnection); // the writer read everything: its count matches
    expect(writer.log.stats()).toMatchObject({ state: 'ready', lagEntries: 0, errors: { trimmed: 0 } });
  });
});
