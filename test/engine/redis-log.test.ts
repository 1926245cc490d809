/**
 * The RedisLog against a real redis-server: one id order for every node, retries that land once,
 * the guards decided atomically with the append, grace epochs (snapshot and trim: snapshot.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { compareIds, type Verdict } from '../../src/engine/log.ts';
import { SCRIPTS } from '../../src/engine/redis/scripts.ts';
import { group, messageIds, redisForFile, uniqueTag, type TestNode } from './helpers.ts';

const TTL = 3000; // nothing here is about liveness: a long TTL keeps a loaded machine from tripping it
const { start } = redisForFile(TTL);

async function cluster(count: number, tag = uniqueTag()): Promise<TestNode[]> {
  const started = Array.from({ length: count }, () => start(tag));
  await Promise.all(started.map((node) => node.reach('ready')));
  return started;
}

function committedId(verdict: Verdict): string {
  if (verdict.status !== 'committed') throw new Error(`expected committed, got ${JSON.stringify(verdict)}`);
  return verdict.id;
}

describe('RedisLog', () => {
  it('gives three nodes appending at once one strictly increasing id order, identical on every tail', async () => {
    const all = await cluster(3);
    const verdicts = await Promise.all(
      Array.from({ length: 300 }, (_, index) => all[index % 3]!.log.propose(group(`u${index % 3}`, `m${index}`)).verdict),
    );
    expect(verdicts.every((verdict) => verdict.status === 'committed')).toBe(true);
    await Promise.all(all.map((node) => node.until((entries) => messageIds(entries).length === 300)));
    const orders = all.map((node) => node.entries.map((entry) => entry.id));
    const ids = messageIds(all[0]!.entries);
    expect(ids).toEqual(Array.from({ length: 300 }, (_, index) => index + 1));
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    const texts = all[0]!.entries.map((entry) => ('text' in entry.event ? entry.event.text : ''));
    expect(new Set(texts).size).toBe(300);
  });

  it('delivers a burst of appends proposed in one turn as one batch, though the blocked read wakes on the first', async () => {
    const [writer, reader] = await cluster(2);
    const batches: number[][] = [];
    reader!.log.onCommitted((batch) => batches.push(messageIds(batch)));
    // Ten bursts, each of five appends proposed in one turn (one pipeline), each burst committed before the next.
    for (let burst = 0; burst < 10; burst++) {
      const verdicts = Array.from({ length: 5 }, (_, index) => writer!.log.propose(group('ann', `b${burst}-${index}`)).verdict);
      const last = committedId((await Promise.all(verdicts))[4]!);
      await reader!.until((entries) => entries.some((entry) => entry.id === last));
    }
    // Without the read-ahead each burst arrives as two batches (the first entry, then the other four).
    expect(batches).toHaveLength(10);
    expect(batches.flat()).toEqual(Array.from({ length: 50 }, (_, index) => index + 1));
  });

  it('lands a retried append once and answers the retry with the first verdict', async () => {
    const [node] = await cluster(1);
    const event = group('ann', 'once');
    const { origin, verdict } = node!.log.propose(event);
    const first = await verdict;
    const retry = await node!.log.append(event, origin);
    const both = await Promise.all([node!.log.append(event, origin), node!.log.append(event, origin)]);
    expect(retry).toEqual(first);
    expect(both).toEqual([first, first]);
    const after = await node!.log.propose(group('ann', 'next')).verdict;
    await node!.until((entries) => entries.some((entry) => entry.id === committedId(after)));
    expect(node!.entries.filter((entry) => 'text' in entry.event && entry.event.text === 'once')).toHaveLength(1);
    expect(node!.entries.find((entry) => entry.id === committedId(first))?.origin).toEqual(origin);
  });

  it('refuses a direct message to a user listed on no node, and accepts it while the user is online or in grace', async () => {
    const [a, b] = await cluster(2);
    const dm = { type: 'DirectMessagePosted' as const, from: 'ann', to: 'bob', text: 'hi', ts: 1 };
    expect(await a!.log.propose(dm).verdict).toEqual({ status: 'refused', code: 'user_offline' });
    committedId(await b!.log.propose({ type: 'UserAttached', user: 'bob', node: b!.log.node, sid: 's1', at: 1 }).verdict);
    expect((await a!.log.propose(dm).verdict).status).toBe('committed');
    const detached = await b!.log.propose({ type: 'UserDetached', user: 'bob', node: b!.log.node, at: 2 }).verdict;
    expect((await a!.log.propose(dm).verdict).status).toBe('committed');
    const epoch = committedId(detached);
    expect(await a!.log.propose({ type: 'GraceExpired', user: 'bob', epoch: '0-1', at: 3 }).verdict).toEqual({ status: 'refused', code: 'stale' });
    committedId(await a!.log.propose({ type: 'GraceExpired', user: 'bob', epoch, at: 3 }).verdict);
    expect(await b!.log.propose({ type: 'GraceExpired', user: 'bob', epoch, at: 3 }).verdict).toEqual({ status: 'refused', code: 'stale' });
    expect(await a!.log.propose(dm).verdict).toEqual({ status: 'refused', code: 'user_offline' });
  });

  it('decides a direct message racing a grace expiry at its position in the log: delivered or refused, never both or neither', async () => {
    const [a, b] = await cluster(2);
    let delivered = 0;
    let refused = 0;
    for (let round = 0; round < 40; round++) {
      const user = `r${round}`;
      committedId(await b!.log.propose({ type: 'UserAttached', user, node: b!.log.node, sid: `s${round}`, at: 1 }).verdict);
      const epoch = committedId(await b!.log.propose({ type: 'UserDetached', user, node: b!.log.node, at: 2 }).verdict);
      const dm = a!.log.propose({ type: 'DirectMessagePosted', from: 'ann', to: user, text: `race ${round}`, ts: 3 });
      const expiry = b!.log.propose({ type: 'GraceExpired', user, epoch, at: 3 });
      const [dmVerdict, expiryVerdict] = await Promise.all([dm.verdict, expiry.verdict]);
      expect(expiryVerdict.status).toBe('committed');
      const expiryId = committedId(expiryVerdict);
      await a!.until((entries) => entries.some((entry) => entry.id === expiryId));
      const inLog = a!.entries.filter((entry) => entry.event.type === 'DirectMessagePosted' && entry.event.to === user);
      if (dmVerdict.status === 'committed') {
        delivered += 1;
        expect(inLog.map((entry) => entry.id)).toEqual([dmVerdict.id]);
        expect(compareIds(dmVerdict.id, expiryId)).toBeLessThan(0);
      } else {
        refused += 1;
        expect(dmVerdict).toEqual({ status: 'refused', code: 'user_offline' });
        expect(inLog).toEqual([]);
      }
    }
    expect(delivered + refused).toBe(40);
  });

  it('refuses an attach with a session revoked earlier in the log, and binds a name to one identity case-insensitively', async () => {
    const [a, b] = await cluster(2);
    committedId(await a!.log.propose({ type: 'SessionEnded', sid: 'gone', user: 'cat', exp: 2_000_000_000, reason: 'logout', at: 1 }).verdict);
    expect(await b!.log.propose({ type: 'UserAttached', user: 'cat', node: b!.log.node, sid: 'gone', at: 2 }).verdict).toEqual({
      status: 'refused',
      code: 'session_revoked',
    });
    const bind = (user: string, subject: string) => ({ type: 'IdentityBound' as const, user, issuer: 'https://idp', subject, at: 1 });
    const [first, second] = await Promise.all([a!.log.propose(bind('Dana', 'one')).verdict, b!.log.propose(bind('dana', 'two')).verdict]);
    expect([first.status, second.status].sort()).toEqual(['committed', 'refused']);
    expect([first, second].find((verdict) => verdict.status === 'refused')).toEqual({ status: 'refused', code: 'name_taken' });
    const winner = first.status === 'committed' ? 'one' : 'two';
    expect((await b!.log.propose(bind('DANA', winner)).verdict).status).toBe('committed');
    committedId(await a!.log.propose({ type: 'SessionsExpired', at: 2_000_000_000_000 }).verdict);
    expect((await b!.log.propose({ type: 'UserAttached', user: 'cat', node: b!.log.node, sid: 'gone', at: 3 }).verdict).status).toBe('committed');
  });

  it('answers unavailable to an append Redis no longer has the script for, reloads the scripts and goes on in order', async () => {
    const [node] = await cluster(1);
    const first = await node!.log.propose(group('ann', 'before the flush')).verdict;
    await node!.log.command(['SCRIPT', 'FLUSH']);
    expect(await node!.log.propose(group('ann', 'lost to NOSCRIPT')).verdict).toEqual({ status: 'unavailable' });
    await node!.reach('ready');
    const after = await node!.log.propose(group('ann', 'after the reload')).verdict;
    expect(after).toMatchObject({ status: 'committed', seq: 2 });
    await node!.until((entries) => entries.some((entry) => entry.id === committedId(after)));
    expect(node!.entries.map((entry) => entry.id)).toEqual([committedId(first), committedId(after)]);
  });

  it('refuses an append arriving on an older connection of its node, so a lookup by origin after a reconnect is final', async () => {
    const [node] = await cluster(1);
    const { log } = node!;
    const epoch = await log.command<string>(['HGET', log.keys.epochs, log.node]);
    await log.command(['HINCRBY', log.keys.epochs, log.node, '1']); // what the next connection does first
    const keys = [log.keys.log, log.keys.meta, log.keys.idem(log.node), log.keys.epochs, log.keys.attached, log.keys.grace,
      log.keys.revoked, log.keys.names, log.keys.nodes, log.keys.users(log.node), log.keys.heartbeat(log.node)];
    const late = await log.command<string>(['EVAL', SCRIPTS.append.source, '11', ...keys, 'msg', JSON.stringify(group('ann', 'late')), log.node, '99', epoch, '1', '', '']);
    expect(late).toBe('x');
    expect(await log.command<number>(['XLEN', log.keys.log])).toBe(0);
    expect(await log.command<string[]>(['ZRANGEBYSCORE', log.keys.idem(log.node), '99', '99'])).toEqual([]);
  });
});
