/**
 * Node death against a real redis-server: a node is declared down only once its heartbeat key has
 * expired, only by a node connected for 2 × TTL, and its users go to grace (never offline).
 */
import { describe, expect, it } from 'vitest';
import type { NodeDown } from '../../src/engine/events.ts';
import { redisForFile, uniqueTag, type TestNode } from './helpers.ts';

const TTL = 600;
const { redis: server, start } = redisForFile(TTL);

const isDown = (entry: { event: { type: string } }): boolean => entry.event.type === 'NodeDown';

describe('RedisLog liveness', () => {
  it('declares a dead node down only after its heartbeat expired, and only from a node connected for 2 × TTL', async () => {
    const tag = uniqueTag();
    const dying = start(tag);
    await dying.reach('ready');
    await dying.log.propose({ type: 'UserAttached', user: 'bob', node: dying.log.node, sid: 's', at: 1 }).verdict;
    const watcher = start(tag);
    await watcher.reach('ready');
    expect(await watcher.log.propose({ type: 'NodeDown', node: dying.log.node, by: watcher.log.node, at: 1 }).verdict).toEqual({
      status: 'refused',
      code: 'node_alive',
    });
    await dying.log.close(); // stops its heartbeat; the key stays until its TTL runs out, like a kill -9
    const closedAt = Date.now();
    const left = await watcher.log.command<number>(['PTTL', watcher.log.keys.heartbeat(dying.log.node)]);
    await watcher.until((entries) => entries.some(isDown));
    const down = watcher.entries.find(isDown)!;
    const event = down.event as NodeDown;
    expect(event).toMatchObject({ node: dying.log.node, by: watcher.log.node });
    expect(event.at - closedAt).toBeGreaterThanOrEqual(left - 5);
    expect(event.at - watcher.log.connectedAt).toBeGreaterThanOrEqual(2 * TTL);
    // Its users are in grace, epoch = the NodeDown entry: still listed (a DM lands), expiry with that epoch works once.
    expect((await watcher.log.propose({ type: 'DirectMessagePosted', from: 'ann', to: 'bob', text: 'x', ts: 1 }).verdict).status).toBe('committed');
    expect(await watcher.log.command<string | null>(['HGET', watcher.log.keys.grace, 'bob'])).toBe(down.id);
    expect((await watcher.log.propose({ type: 'GraceExpired', user: 'bob', epoch: down.id, at: 2 }).verdict).status).toBe('committed');
    expect(await watcher.log.propose({ type: 'DirectMessagePosted', from: 'ann', to: 'bob', text: 'y', ts: 2 }).verdict).toEqual({
      status: 'refused',
      code: 'user_offline',
    });
    expect(watcher.entries.filter(isDown)).toHaveLength(1);
    expect(watcher.log.stats().declaredDown).toEqual({ byThisNode: 1, byOthers: 0 });
    expect(watcher.log.stats().errors.declared_down).toBe(0);
  });

  it('keeps a user attached on a surviving node online when another node holding them dies', async () => {
    const tag = uniqueTag();
    const [dying, staying] = [start(tag), start(tag)];
    await Promise.all([dying.reach('ready'), staying.reach('ready')]);
    for (const node of [dying, staying]) await node.log.propose({ type: 'UserAttached', user: 'cy', node: node.log.node, sid: 's', at: 1 }).verdict;
    await dying.log.close();
    await staying.until((entries) => entries.some(isDown));
    expect(await staying.log.command<string | null>(['HGET', staying.log.keys.attached, 'cy'])).toBe('1');
    expect(await staying.log.command<string | null>(['HGET', staying.log.keys.grace, 'cy'])).toBeNull();
    expect(await staying.log.command<string[]>(['SMEMBERS', staying.log.keys.users(staying.log.node)])).toEqual(['cy']);
  });

  it('does not declare anyone down right after a node reconnects, even when every heartbeat expired during the outage', async () => {
    const tag = uniqueTag();
    const [a, b] = [start(tag), start(tag)];
    await Promise.all([a.reach('ready'), b.reach('ready')]);
    await b.log.propose({ type: 'UserAttached', user: 'dee', node: b.log.node, sid: 's', at: 1 }).verdict;
    await server().stop();
    await Promise.all([a.reach('lost'), b.reach('lost')]); // down for a whole TTL: every heartbeat key has expired
    const restarted = Date.now();
    await server().restart();
    await Promise.all([a.reach('ready'), b.reach('ready')]);
    const scanned = (node: TestNode) => node.line((line) => line.msg === 'liveness scan' && Number(line.time) > restarted);
    const [scanA, scanB] = await Promise.all([scanned(a), scanned(b)]);
    expect([scanA.declared, scanB.declared]).toEqual([0, 0]);
    expect(Number(scanA.time) - a.log.connectedAt).toBeGreaterThanOrEqual(2 * TTL);
    expect([...a.entries, ...b.entries].filter(isDown)).toEqual([]);
    expect(await a.log.command<string | null>(['HGET', a.log.keys.attached, 'dee'])).toBe('1');
  });
});
