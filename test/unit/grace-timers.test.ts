import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { graceTimers, realClock } from '../../src/runtime/grace-timers.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('grace timers', () => {
  it('fire once per user after the period, re-arming restarts the period, disarming cancels', () => {
    const expired: string[] = [];
    const timers = graceTimers(realClock, (user) => expired.push(user));
    timers.actions.armGrace(undefined, { user: 'bob', ms: 100 });
    timers.actions.armGrace(undefined, { user: 'carol', ms: 100 });
    const start = Date.now();
    vi.advanceTimersByTime(60);
    timers.actions.armGrace(undefined, { user: 'bob', ms: 100 });
    timers.actions.disarmGrace(undefined, { user: 'carol' });
    // When each running timer is due (what an online compaction writes into its snapshot).
    expect(timers.deadlines()).toEqual([['bob', start + 160]]);
    vi.advanceTimersByTime(99);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(expired).toEqual(['bob']);
    expect(timers.pending).toBe(0);
  });
});
