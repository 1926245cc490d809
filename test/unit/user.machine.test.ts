import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { userMachine } from '../../src/machines/user.machine.ts';

function start() {
  const reports: string[] = [];
  const machine = userMachine.provide({ actions: { reportStatus: (_, params) => void reports.push(params.status) } });
  const actor = createActor(machine, { input: { user: 'bob' } }).start();
  return { actor, reports };
}

describe('user machine', () => {
  it('starts connecting, unlisted and silent', () => {
    const { actor, reports } = start();
    expect(actor.getSnapshot().value).toBe('connecting');
    expect(actor.getSnapshot().hasTag('listed')).toBe(false);
    expect(reports).toEqual([]);
  });

  it('goes online on the first socket and reports it once', () => {
    const { actor, reports } = start();
    actor.send({ type: 'SOCKET_OPENED' });
    actor.send({ type: 'SOCKET_OPENED' });
    expect(actor.getSnapshot().value).toBe('online');
    expect(actor.getSnapshot().context.sockets).toBe(2);
    expect(reports).toEqual(['online']);
  });

  it('stays online while another socket remains, and enters grace on the last close', () => {
    const { actor, reports } = start();
    actor.send({ type: 'SOCKET_OPENED' });
    actor.send({ type: 'SOCKET_OPENED' });
    actor.send({ type: 'SOCKET_CLOSED' });
    expect(actor.getSnapshot().value).toBe('online');
    actor.send({ type: 'SOCKET_CLOSED' });
    expect(actor.getSnapshot().value).toBe('grace');
    expect(actor.getSnapshot().hasTag('listed')).toBe(true);
    expect(reports).toEqual(['online', 'grace']);
  });

  it('returns from grace to online without passing through offline, and ignores a late expiry', () => {
    const { actor, reports } = start();
    actor.send({ type: 'SOCKET_OPENED' });
    actor.send({ type: 'SOCKET_CLOSED' });
    actor.send({ type: 'SOCKET_OPENED' });
    actor.send({ type: 'GRACE_EXPIRED' });
    expect(actor.getSnapshot().value).toBe('online');
    expect(reports).toEqual(['online', 'grace', 'online']);
  });

  it('goes offline when the grace period ends', () => {
    const { actor, reports } = start();
    actor.send({ type: 'SOCKET_OPENED' });
    actor.send({ type: 'SOCKET_CLOSED' });
    actor.send({ type: 'GRACE_EXPIRED' });
    expect(actor.getSnapshot().status).toBe('done');
    expect(reports).toEqual(['online', 'grace', 'offline']);
  });

  it('drops a login that never connects when the grace period ends', () => {
    const { actor, reports } = start();
    actor.send({ type: 'GRACE_EXPIRED' });
    expect(actor.getSnapshot().value).toBe('offline');
    expect(reports).toEqual(['offline']);
  });

  it.each(['connecting', 'online', 'grace'])('goes offline at once on logout from %s', (from) => {
    const { actor, reports } = start();
    if (from !== 'connecting') actor.send({ type: 'SOCKET_OPENED' });
    if (from === 'grace') actor.send({ type: 'SOCKET_CLOSED' });
    actor.send({ type: 'LOGOUT' });
    expect(actor.getSnapshot().value).toBe('offline');
    expect(actor.getSnapshot().context.sockets).toBe(0);
    expect(reports.at(-1)).toBe('offline');
  });
});
