/**
 * The placement table alone: shards fill one at a time, freed slots are reused before a new shard
 * opens, and the bookkeeping stays consistent under a random sequence of takes and releases.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Placements } from '../../src/machines/placement.ts';

describe('Placements', () => {
  it('fills a shard slot by slot, lowest slot first, and opens the next shard only when it is full', () => {
    const table = new Placements(2);
    expect(table.take('a')).toEqual({ shard: 0, slot: 0, opened: true });
    expect(table.take('b')).toEqual({ shard: 0, slot: 1, opened: false });
    expect(table.take('c')).toEqual({ shard: 1, slot: 0, opened: true });
    expect(table.size).toBe(3);
    expect(table.shards).toBe(2);
    expect(table.get('b')).toEqual({ shard: 0, slot: 1 });
    expect([...table.users()]).toEqual(['a', 'b', 'c']);
  });

  it('reuses a freed slot before opening a shard, and frees nothing for a user without a place', () => {
    const table = new Placements(2);
    for (const user of ['a', 'b', 'c', 'd']) table.take(user);
    expect(table.release('b')).toEqual({ shard: 0, slot: 1 });
    expect(table.release('b')).toBeUndefined();
    expect(table.release('nobody')).toBeUndefined();
    expect(table.has('b')).toBe(false);
    expect(table.take('e')).toEqual({ shard: 0, slot: 1, opened: false });
    expect(table.take('f')).toEqual({ shard: 2, slot: 0, opened: true });
  });

  it('refuses to place a user twice and a shard size that is not a positive integer', () => {
    const table = new Placements(4);
    table.take('a');
    expect(() => table.take('a')).toThrow(/already has an actor/);
    expect(() => new Placements(0)).toThrow(RangeError);
    expect(() => new Placements(1.5)).toThrow(RangeError);
  });

  it('never gives one slot to two users, never overfills a shard, and opens no shard while one has room', () => {
    const ops = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 29 })), { maxLength: 300 });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), ops, (shardSize, steps) => {
        const table = new Placements(shardSize);
        const live = new Set<string>();
        for (const [take, n] of steps) {
          const user = `u${n}`;
          if (take && !live.has(user)) {
            const roomBefore = live.size < table.shards * shardSize;
            const taken = table.take(user);
            expect(taken.opened).toBe(!roomBefore);
            live.add(user);
          } else if (!take) {
            expect(table.release(user) !== undefined).toBe(live.delete(user));
          }
          const seen = new Set<string>();
          for (const who of live) {
            const place = table.get(who)!;
            expect(place.slot).toBeLessThan(shardSize);
            const key = `${place.shard}/${place.slot}`;
            expect(seen.has(key)).toBe(false);
            seen.add(key);
          }
          expect(table.size).toBe(live.size);
          for (let shard = 0; shard < table.shards; shard++) {
            expect(table.loadOf(shard)).toBe([...live].filter((who) => table.get(who)!.shard === shard).length);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
