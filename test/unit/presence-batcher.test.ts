import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PresenceBatcher } from '../../src/transport/presence-batcher.ts';
import type { PresenceChange } from '../../src/protocol/server-frames.ts';

let published: PresenceChange[][];
let batcher: PresenceBatcher;

beforeEach(() => {
  vi.useFakeTimers();
  published = [];
  batcher = new PresenceBatcher(50, (changes) => published.push(changes));
});
afterEach(() => vi.useRealTimers());

describe('presence batcher', () => {
  it('publishes one frame per window with each user once, at their last status', () => {
    batcher.add('bob', 'offline', 'online');
    batcher.add('carol', 'offline', 'online');
    batcher.add('bob', 'online', 'grace');
    vi.advanceTimersByTime(49);
    expect(published).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(published).toEqual([[{ user: 'bob', status: 'grace' }, { user: 'carol', status: 'online' }]]);
  });

  it('leaves out a user who ends the window where they started', () => {
    batcher.add('bob', 'online', 'grace');
    batcher.add('bob', 'grace', 'online');
    vi.advanceTimersByTime(50);
    expect(published).toEqual([]);
  });

  it('starts a new window after a flush', () => {
    batcher.add('bob', 'offline', 'online');
    vi.advanceTimersByTime(50);
    batcher.add('bob', 'online', 'grace');
    vi.advanceTimersByTime(50);
    expect(published).toEqual([[{ user: 'bob', status: 'online' }], [{ user: 'bob', status: 'grace' }]]);
  });
});
