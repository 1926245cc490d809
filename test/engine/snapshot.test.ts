/**
 * The fold's snapshot and trimming the log, against a real redis-server: a snapshot is only ever
 * replaced by a newer one; a trim never goes below the snapshot, the history window's floor or the
 * applied id a node listed up published (with its heartbeat, or by reading the snapshot before it
 * starts), until that node is declared down; a node started from the snapshot after a trim reads only
 * the tail; and a node whose unread entries were trimmed away stops (`lost`) instead of folding a log
 * with a hole in it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Verdict } from '../../src/engine/log.ts';
import { SCRIPTS } from '../../src/engine/redis/scripts.ts';
import { heartbeatCall } from '../../src/engine/redis/liveness.ts';
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

/** Appends `count` messages and waits until the node's own tail applied them (a trim publishes that id first). */
async function appendMessages(node: TestNode, count: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index++) ids.push(committedId(await node.log.propose(group('ann', `${prefix}${index}`)).verdict));
  await node.until((entries) => entries.some((entry) => entry.id === ids.at(-1)));
  return ids;
}

/** Another node's heartbeat as its RedisLog sends it (listed up, `appliedId` published), run from `by`. */
async function heartbeatOf(by: TestNode, node: string, appliedId: string): Promise<void> {
  const call = heartbeatCall(by.log.keys, node, TTL, appliedId);
  await by.log.command(['EVAL', SCRIPTS.heartbeat.source, String(call.keys.length), ...call.keys, ...call.args]);
}

/** `by` declares `node` down through the append script, once its heartbeat key is gone (deleted here: as if expired). */
async function declareDown(by: TestNode, node: string): Promise<void> {
  await by.log.command(['DEL', by.log.keys.heartbeat(node)]);
  const id = committedId(await by.log.propose({ type: 'NodeDown', node, by: by.log.node, at: Date.now() }).verdict);
  await by.until((entries) => entries.some((entry) => entry.id === id));
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
    expect(await node!.log.trim(ids[15]!)).toEqual({ removed: 0, heldBy: undefined }); // no snapshot: nothing
    expect(await streamIds(node!)).toEqual(ids);
    await node!.log.saveSnapshot(ids[10]!, '{}');
    expect(await node!.log.trim(ids[15]!)).toEqual({ removed: 10, heldBy: undefined }); // the snapshot is lower: down to it, the snapshot's entry kept
    expect(await streamIds(node!)).toEqual(ids.slice(10));
    expect((await node!.log.trim(ids[2]!)).removed).toBe(0);
    await node!.log.saveSnapshot(ids[18]!, '{}');
    expect((await node!.log.trim(ids[14]!)).removed).toBe(4); // the window floor is lower: down to it
    expect(await streamIds(node!)).toEqual(ids.slice(14));
    expect(await node!.log.command<string>(['HGET', node!.log.keys.snapshot, 'trimmed'])).toBe(ids[13]);
    expect(node!.log.stats()).toMatchObject({ state: 'ready', errors: { trimmed: 0 } });
  });

  it('never trims past a node listed up: at the id it published, the whole log while it published none, until it is declared down', async () => {
    const writer = start(uniqueTag());
    await writer.reach('ready');
    const ids = await appendMessages(writer, 20, 'd');
    await writer.log.saveSnapshot(ids[19]!, '{}');
    await heartbeatOf(writer, 'slow', ids[5]!); // listed up, 14 messages behind the snapshot
    await writer.log.command(['HSET', writer.log.keys.nodes, 'quiet', 'up']); // listed up, nothing published (e.g. an older version)
    expect(await writer.log.trim(ids[19]!)).toEqual({ removed: 0, heldBy: { node: 'quiet', at: '0-0', wanted: ids[19] } });
    await declareDown(writer, 'quiet');
    expect(await writer.log.trim(ids[19]!)).toEqual({ removed: 5, heldBy: { node: 'slow', at: ids[5], wanted: ids[19] } });
    expect((await streamIds(writer))[0]).toBe(ids[5]); // the entry it applied last is kept: it reads on after it
    await heartbeatOf(writer, 'slow', ids[9]!); // caught up a little: the next trim follows it
    expect((await writer.log.trim(ids[19]!)).removed).toBe(4);
    await declareDown(writer, 'slow');
    expect(await writer.log.command(['HGET', writer.log.keys.applied, 'slow'])).toBeNull(); // NodeDown removed its published id
    expect(await writer.log.trim(ids[19]!)).toEqual({ removed: 10, heldBy: undefined }); // down to the snapshot now
    expect(await writer.log.command(['HGET', writer.log.keys.applied, writer.log.node])).toBe(writer.entries.at(-1)!.id); // the trimming node published its own
  });

  it('starts a node after a trim from the snapshot: it holds the trim from its read, reads only the tail, then follows the log', async () => {
    const tag = uniqueTag();
    const writer = start(tag);
    await writer.reach('ready');
    const before = await appendMessages(writer, 30, 'old');
    committedId(await writer.log.propose({ type: 'UserAttached', user: 'ann', node: writer.log.node, sid: 's1', at: 1 }).verdict);
    const covered = (await appendMessages(writer, 5, 'mid')).at(-1)!;
    await writer.log.saveSnapshot(covered, JSON.stringify({ seq: 35, online: ['ann'] }));
    expect((await writer.log.trim(covered)).removed).toBe(before.length + 1 + 4);
    const after = await appendMessages(writer, 5, 'new');
    const late = create(tag);
    const snapshot = await late.log.loadSnapshot(); // before start(): a connection of its own
    expect(snapshot).toEqual({ id: covered, data: '{"seq":35,"online":["ann"]}' });
    // Restoring its fold, not started: a newer snapshot's trim stops at the snapshot it read.
    const newer = await appendMessages(writer, 5, 'newer');
    await writer.log.saveSnapshot(newer.at(-1)!, '{}');
    expect(await writer.log.trim(newer.at(-1)!)).toEqual({ removed: 0, heldBy: { node: late.log.node, at: covered, wanted: newer.at(-1) } });
    late.log.start(snapshot!.id);
    await late.reach('ready');
    expect(late.entries.map((entry) => entry.id)).toEqual([...after, ...newer]);
    expect(messageIds(late.entries)).toEqual([36, 37, 38, 39, 40, 41, 42, 43, 44, 45]);
    const next = await late.log.propose(group('bob', 'from the late node')).verdict;
    expect(next).toMatchObject({ status: 'committed', seq: 46 });
    await writer.until((entries) => entries.some((entry) => entry.seq === 46));
    expect(late.log.stats()).toMatchObject({ state: 'ready', lagEntries: 0, errors: { trimmed: 0 } });
    expect(writer.log.stats().errors.trimmed).toBe(0);
    // Caught up (its trim publishes its own id first), the hold ends: down to the newer snapshot.
    expect(await late.log.trim(newer.at(-1)!)).toEqual({ removed: 10, heldBy: undefined });
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

  it('stops a running node declared down while its link was held, that then read past a trim of entries it had not read', async () => {
    const tag = uniqueTag();
    const proxy = await TcpProxy.start(redis().port);
    extra.proxies.push(proxy);
    const writer = start(tag);
    const behind = startNode({ url: `redis://127.0.0.1:${proxy.port}` }, { ttlMs: TTL, tag });
    extra.nodes.push(behind);
    await Promise.all([writer.reach('ready'), behind.reach('ready')]);
    // The behind node's replies wait in the proxy: it gets the first new entry only after the trim.
    proxy.pause();
    // Listed up, it holds the trim; declared down (its heartbeat gone, as after a TTL), it no longer does.
    expect(await writer.log.command(['HGET', writer.log.keys.applied, behind.log.node])).toBe('0-0');
    await declareDown(writer, behind.log.node);
    expect(await writer.log.command(['HGET', writer.log.keys.applied, behind.log.node])).toBeNull();
    const ids = await appendMessages(writer, 10, 'p');
    await writer.log.saveSnapshot(ids[9]!, '{}');
    expect(await writer.log.trim(ids[9]!)).toEqual({ removed: 10, heldBy: undefined }); // the NodeDown and 9 messages
    proxy.resume();
    // Reading on, it gets the first entry (held back) and then the tenth message: a hole its count shows at a poll.
    await Promise.race([behind.reach('lost'), behind.until((entries) => entries.some((entry) => entry.id === ids[9]))]);
    const connection = behind.log.currentConnection;
    if (connection) await behind.log.pollTop(connection);
    await behind.reach('lost');
    expect(behind.log.stats().errors.trimmed).toBe(1);
    expect(behind.entries.length).toBeLessThan(11);
    const writerConnection = writer.log.currentConnection!;
    await writer.log.pollTop(writerConnection); // the writer read everything: its count matches
    expect(writer.log.stats()).toMatchObject({ state: 'ready', lagEntries: 0, errors: { trimmed: 0 } });
  });
});
