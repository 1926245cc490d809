/**
 * The coverage helper counts from the definition — guarded alternatives and delayed transitions each
 * on their own — and marks only what a live actor took.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { userMachine } from '../../src/machines/user.machine.ts';
import { ModelCoverage } from './coverage.ts';

// No parent here: the report to the shard is stubbed.
const machine = userMachine.provide({ actions: { reportStatus: () => {} } });

describe('ModelCoverage', () => {
  it('counts every transition of the definition and marks those a live actor took', () => {
    const coverage = new ModelCoverage([userMachine]);
    const actor = createActor(machine, { input: { user: 'u' }, inspect: coverage.inspect });
    actor.start();
    actor.send({ type: 'SOCKET_OPENED' });
    actor.send({ type: 'SOCKET_OPENED' });
    actor.send({ type: 'SOCKET_CLOSED' });
    expect(coverage.summary()).toEqual([{ machine: 'user', states: [2, 4], transitions: [3, 8] }]);
    expect(coverage.missing()).toContain('transition user.online SOCKET_CLOSED#1');
    expect(coverage.missing()).toContain('transition user.grace GRACE_EXPIRED#0');

    actor.send({ type: 'SOCKET_CLOSED' });
    actor.send({ type: 'GRACE_EXPIRED' });
    expect(actor.getSnapshot().value).toBe('offline');
    expect(coverage.missing()).not.toContain('transition user.grace GRACE_EXPIRED#0');
    expect(coverage.summary()).toEqual([{ machine: 'user', states: [4, 4], transitions: [5, 8] }]);
    expect(coverage.percent()).toBeCloseTo((100 * 9) / 12);
    expect(coverage.report()).toMatch(/^model coverage 75\.0%\n  user {8}states 4\/4  transitions 5\/8\n  not reached:/);
  });

  it('reports transitions reached only by an injected command', () => {
    const coverage = new ModelCoverage([userMachine]);
    const actor = createActor(machine, { input: { user: 'u' }, inspect: coverage.inspect });
    actor.start();
    coverage.via = 'injected';
    actor.send({ type: 'LOGOUT' });
    expect(coverage.onlyInProcess()).toEqual(['user LOGOUT#0']);
    actor.stop();
  });
});
