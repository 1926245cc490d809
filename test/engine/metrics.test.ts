/**
 * The engine's metrics, read through `Metrics` (prom-client) from a real RedisLog on a real
 * redis-server: the state, appends by verdict, engine errors, and the log lag in entries and in time
 * moving while a late node catches up. A node without an engine has none of these series.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Committed } from '../../src/engine/log.ts';
import { Metrics } from '../../src/metrics.ts';
import { group, redisForFile, uniqueTag, type TestNode } from './helpers.ts';

const TTL = 3000;
const { start } = redisForFile(TTL);

afterEach(() => {
  vi.useRealTimers();
});

function metricsOf(node: TestNode | undefined): Metrics {
  return new Metrics({
    connections: () => 0,
    usersByState: () => ({ online: 0, grace: 0, connecting: 0 }),
    ...(node ? { engineStats: node.log.stats } : {}),
  });
}

/** The value of one series in the exposition (`name{labels} value`), or undefined. */
async function series(metrics: Metrics, name: string): Promise<number | undefined> {
  const { body } = await metrics.exposition();
  const line = body.split('\n').find((text) => text.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('engine metrics', () => {
  it('has no engine series on a node without an engine', async () => {
    const { body } = await metricsOf(undefined).exposition();
    expect(body).toContain('chat_connections');
    expect(body).not.toMatch(/chat_log_|chat_engine_/);
  });

  it('counts appends by verdict and shows the state', async () => {
    const node = start(uniqueTag());
    const metrics = metricsOf(node);
    expect(node.log.stats().state).toBe('starting');
    await node.reach('ready');
    expect(await series(metrics, 'chat_engine_state{state="ready"}')).toBe(1);
    expect(await series(metrics, 'chat_engine_state{state="starting"}')).toBe(0);
    expect(await series(metrics, 'chat_log_appends_total{verdict="committed"}')).toBe(0);
    await Promise.all(Array.from({ length: 12 }, (_, index) => node.log.propose(group('ann', `m${index}`)).verdict));
    const dm = await node.log.propose({ type: 'DirectMessagePosted', from: 'ann', to: 'nobody', text: 'hi', ts: 1 }).verdict;
    expect(dm).toEqual({ status: 'refused', code: 'user_offline' });
    expect(await series(metrics, 'chat_log_appends_total{verdict="committed"}')).toBe(12);
    expect(await series(metrics, 'chat_log_appends_total{verdict="refused"}')).toBe(1);
    expect(await series(metrics, 'chat_log_appends_total{verdict="unavailable"}')).toBe(0);
    expect(await series(metrics, 'chat_engine_errors_total{kind="script"}')).toBe(0);
    await node.log.command(['SCRIPT', 'FLUSH']);
    expect(await node.log.propose(group('ann', 'lost to NOSCRIPT')).verdict).toEqual({ status: 'unavailable' });
    expect(await series(metrics, 'chat_engine_errors_total{kind="script"}')).toBe(1);
    expect(await series(metrics, 'chat_log_appends_total{verdict="unavailable"}')).toBe(1);
    await node.reach('ready');
    expect(node.states).toEqual(['ready', 'unavailable', 'ready']);
    expect(await series(metrics, 'chat_log_lag_entries')).toBe(0);
    expect(await series(metrics, 'chat_log_lag_seconds')).toBe(0);
  });

  it('shows a late node behind by the entries it has still to read and for how long, then caught up', async () => {
    const tag = uniqueTag();
    const writer = start(tag);
    await writer.reach('ready');
    // 1,200 entries: the late node's tail reads them in batches of 1,000, so it is seen behind after one.
    for (let round = 0; round < 4; round++) {
      await Promise.all(Array.from({ length: 300 }, (_, index) => writer.log.propose(group('ann', `r${round}-${index}`)).verdict));
    }
    vi.useFakeTimers({ toFake: ['Date'] }); // the clock stands still unless the test moves it
    const late = start(tag);
    const metrics = metricsOf(late);
    const seen: Array<{ delivered: number; lagEntries: number; lagSeconds: number }> = [];
    late.log.onCommitted((batch: readonly Committed[]) => {
      if (seen.length === 0) vi.setSystemTime(Date.now() + 1000); // 1 s "passes" before the first batch is looked at
      const stats = late.log.stats();
      seen.push({ delivered: batch.length, lagEntries: stats.lagEntries, lagSeconds: stats.lagSeconds });
    });
    await late.reach('ready');
    expect(seen[0]).toEqual({ delivered: 1000, lagEntries: 200, lagSeconds: 1 });
    expect(seen.at(-1)).toEqual({ delivered: 200, lagEntries: 0, lagSeconds: 0 });
    expect(await series(metrics, 'chat_log_lag_entries')).toBe(0);
    expect(await series(metrics, 'chat_log_lag_seconds')).toBe(0);
    expect(late.log.stats()).toMatchObject({ appliedId: '1200-0', topId: '1200-0', state: 'ready' });
  });

  it('does not know the lag in entries of a node started from a snapshot until it reaches the top it saw', async () => {
    const tag = uniqueTag();
    const writer = start(tag);
    await writer.reach('ready');
    await Promise.all(Array.from({ length: 1100 }, (_, index) => writer.log.propose(group('ann', `s${index}`)).verdict));
    const late = start(tag, '50-0');
    const seen: number[] = [];
    late.log.onCommitted(() => seen.push(late.log.stats().lagEntries));
    await late.reach('ready');
    expect(seen.length).toBe(2);
    expect(seen[0]).toBeNaN();
    expect(seen[1]).toBe(0);
    const metrics = metricsOf(late);
    await writer.log.propose(group('ann', 'one more')).verdict;
    await late.until((entries) => entries.some((entry) => entry.seq === 1101));
    expect(await series(metrics, 'chat_log_lag_entries')).toBe(0);
  });
});
