/**
 * Engine trouble against real redis-server processes: Redis killed (SIGKILL) or stopped (SIGTERM)
 * and restarted, Redis restarted from an older AOF copy (a rollback), and a node's link paused past
 * its TTL. Appends meanwhile answer `unavailable`; nothing that may have committed is answered so;
 * ids only grow and are never reused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Committed, Verdict } from '../../src/engine/log.ts';
import { compareIds } from '../../src/engine/log.ts';
import { RedisServer } from '../support/redis.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { group, messageIds, startNode, uniqueTag, type TestNode } from './helpers.ts';

const TTL = 600;
let nodes: TestNode[] = [];
let servers: RedisServer[] = [];
let proxies: TcpProxy[] = [];

afterEach(async () => {
  await Promise.all(nodes.map((node) => node.log.close()));
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await Promise.all(servers.map((server) => server.close()));
  [nodes, servers, proxies] = [[], [], []];
});

async function setup(count: number): Promise<{ redis: RedisServer; nodes: TestNode[] }> {
  const redis = await RedisServer.start();
  servers.push(redis);
  const tag = uniqueTag();
  const started = Array.from({ length: count }, () => startNode({ url: redis.url }, { ttlMs: TTL, tag }));
  nodes.push(...started);
  await Promise.all(started.map((node) => node.reach('ready')));
  return { redis, nodes: started };
}

function expectStrictlyIncreasing(entries: readonly Committed[]): void {
  for (let index = 1; index < entries.length; index++) expect(compareIds(entries[index - 1]!.id, entries[index]!.id)).toBeLessThan(0);
  const ids = messageIds(entries);
  for (let index = 1; index < ids.length; index++) expect(ids[index]!).toBeGreaterThan(ids[index - 1]!);
}

/** After recovery: every committed verdict is in the log once, every `unavailable` one is not in it. */
function expectVerdictsMatchLog(sent: Array<{ text: string; verdict: Verdict }>, entries: readonly Committed[]): void {
  for (const { text, verdict } of sent) {
    const found = entries.filter((entry) => 'text' in entry.event && entry.event.text === text);
    if (verdict.status === 'committed') expect(found.map((entry) => entry.id)).toEqual([verdict.id]);
    else expect([verdict.status, found]).toEqual(['unavailable', []]);
  }
}

describe('RedisLog when Redis fails', () => {
  it.each([
    ['SIGKILL', (redis: RedisServer) => redis.kill()],
    ['SIGTERM', (redis: RedisServer) => redis.stop()],
  ])('refuses appends as unavailable while Redis is down after a %s, then continues the ids above everything seen', async (_name, down) => {
    const { redis, nodes: [a, b] } = await setup(2);
    for (let index = 0; index < 10; index++) await a!.log.propose(group('ann', `before ${index}`)).verdict;
    const inFlight = Array.from({ length: 50 }, (_, index) => ({ text: `flight ${index}`, verdict: b!.log.propose(group('bob', `flight ${index}`)).verdict }));
    await down(redis);
    await Promise.all([a!.reach('lost'), b!.reach('lost')]);
    expect(await a!.log.propose(group('ann', 'while down')).verdict).toEqual({ status: 'unavailable' });
    await redis.restart();
    await Promise.all([a!.reach('ready'), b!.reach('ready')]);
    const sent = await Promise.all(inFlight.map(async ({ text, verdict }) => ({ text, verdict: await verdict })));
    const after = await a!.log.propose(group('ann', 'after')).verdict;
    expect(after.status).toBe('committed');
    for (const node of [a!, b!]) {
      await node.until((entries) => entries.some((entry) => after.status === 'committed' && entry.id === after.id));
      expectStrictlyIncreasing(node.entries);
      expectVerdictsMatchLog(sent, node.entries);
      expect(messageIds(node.entries)).toEqual(Array.from({ length: messageIds(node.entries).length }, (_, index) => index + 1));
    }
    expect(b!.entries.map((entry) => entry.id)).toEqual(a!.entries.map((entry) => entry.id));
    expect(a!.states).toEqual(['ready', 'unavailable', 'lost', 'ready']);
    // The link broke, reconnecting failed while Redis was down (retries every 25 ms up to TTL/3).
    const stats = a!.log.stats();
    expect(stats.appends).toEqual({ committed: 11, refused: 0, unavailable: 1 });
    expect(stats.errors.link).toBeGreaterThanOrEqual(1);
    expect(stats.errors.connect).toBeGreaterThanOrEqual(1);
  });

  it('detects a rollback to an older AOF, fences it and never reuses an id', async () => {
    const { redis, nodes: [a, b] } = await setup(2);
    for (let index = 0; index < 5; index++) await a!.log.propose(group('ann', `kept ${index}`)).verdict;
    const copy = await redis.copyData();
    let last: Verdict = { status: 'unavailable' };
    for (let index = 0; index < 5; index++) last = await b!.log.propose(group('bob', `lost ${index}`)).verdict;
    await Promise.all([a, b].map((node) => node!.until((entries) => entries.some((entry) => last.status === 'committed' && entry.id === last.id))));
    const seenBefore = Math.max(...messageIds(a!.entries));
    await redis.restoreFrom(copy);
    await Promise.all([a!.reach('ready'), b!.reach('ready')]);
    const isFence = (line: Record<string, unknown>): boolean => line.msg === 'the log rolled back: fenced, ids continue above every id this node saw';
    const fenced = await Promise.race([a!.line(isFence), b!.line(isFence)]);
    expect(fenced.top).toBe('5-0');
    expect(a!.log.stats().errors.rollback + b!.log.stats().errors.rollback).toBe(1);
    const next = await b!.log.propose(group('bob', 'after the fence')).verdict;
    expect(next.status === 'committed' && next.seq).toBeGreaterThan(seenBefore + 1);
    for (const node of [a!, b!]) {
      await node.until((entries) => entries.some((entry) => next.status === 'committed' && entry.id === next.id));
      expectStrictlyIncreasing(node.entries);
      const fences = node.entries.filter((entry) => entry.event.type === 'Fenced');
      expect(fences).toHaveLength(1);
      const fence = fences[0];
      expect(fence?.event).toMatchObject({ type: 'Fenced', top: '5-0', applied: '10-0' });
      expect(fence?.seq).toBe(seenBefore + 1);
    }
  });

  it('turns a node whose Redis link is paused past its TTL unavailable, lets the others declare it down, and resolves its in-flight append on reconnect', async () => {
    const redis = await RedisServer.start();
    servers.push(redis);
    const proxy = await TcpProxy.start(redis.port);
    proxies.push(proxy);
    const tag = uniqueTag();
    const watcher = startNode({ url: redis.url }, { ttlMs: TTL, tag });
    const paused = startNode({ url: `redis://127.0.0.1:${proxy.port}` }, { ttlMs: TTL, tag });
    nodes.push(watcher, paused);
    await Promise.all([watcher.reach('ready'), paused.reach('ready')]);
    const attached = await paused.log.propose({ type: 'UserAttached', user: 'eve', node: paused.log.node, sid: 's', at: 1 }).verdict;
    if (attached.status !== 'committed') throw new Error(`attach not committed: ${JSON.stringify(attached)}`);
    proxy.pause();
    const inFlight = paused.log.propose(group('eve', 'in flight'));
    await paused.reach('unavailable');
    await paused.reach('lost');
    // The NodeDown after the pause (on a loaded machine a slow start can cost an earlier one).
    const downAfterPause = (entry: Committed): boolean => entry.event.type === 'NodeDown' && compareIds(entry.id, attached.id) > 0;
    await watcher.until((entries) => entries.some(downAfterPause));
    expect(watcher.entries.find(downAfterPause)?.event).toMatchObject({ node: paused.log.node });
    expect(await watcher.log.command<string | null>(['HGET', watcher.log.keys.grace, 'eve'])).not.toBeNull();
    proxy.resume();
    await paused.reach('ready');
    const verdict = await inFlight.verdict;
    const marker = await paused.log.propose(group('eve', 'marker')).verdict;
    for (const node of [paused, watcher]) await node.until((entries) => entries.some((entry) => marker.status === 'committed' && entry.id === marker.id));
    expectVerdictsMatchLog([{ text: 'in flight', verdict }], paused.entries);
    expect(paused.entries.some((entry) => entry.event.type === 'NodeDown')).toBe(true);
    expect(await paused.log.command<string[]>(['SMEMBERS', paused.log.keys.users(paused.log.node)])).toEqual([]);
    expect(paused.entries.map((entry) => entry.id)).toEqual(watcher.entries.map((entry) => entry.id));
    // Seen by operators: the watchdog dropped the paused link; the watcher declared it down; the paused node read that.
    const [pausedStats, watcherStats] = [paused.log.stats(), watcher.log.stats()];
    expect(pausedStats.errors.stall).toBeGreaterThanOrEqual(1);
    expect(pausedStats.errors.declared_down).toBeGreaterThanOrEqual(1);
    expect(pausedStats.declaredDown.byOthers).toBe(pausedStats.errors.declared_down);
    expect(watcherStats.declaredDown.byThisNode).toBe(pausedStats.declaredDown.byOthers);
  });
});
