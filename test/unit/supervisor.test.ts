import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { DomainEvent } from '../../src/domain/events.ts';
import { describeState } from '../../src/domain/state.ts';
import { MemoryJournal } from '../../src/journal/memory.ts';
import { ChatRuntime } from '../../src/runtime/chat-runtime.ts';

function runtime(shardSize = 2) {
  const journal = new MemoryJournal({ maxEvents: 10_000, maxMessages: 100, maxAgeMs: 3_600_000 });
  let clock = 1_764_000_000_000;
  const rt = new ChatRuntime({ journal, graceMs: 1000, shardSize, logger: pino({ level: 'silent' }), now: () => clock++ });
  const committed: DomainEvent[] = [];
  const rejected: unknown[] = [];
  rt.on('committed', ({ event }) => committed.push(event));
  rt.on('rejected', (event) => rejected.push(event));
  rt.start();
  return { rt, journal, committed, rejected };
}

/** A session expiry an hour after the test clock, in epoch seconds as in the JWT. */
const exp = 1_764_000_000 + 3600;

describe('supervisor machine', () => {
  it('journals each fact before applying it, in order', () => {
    const { rt, journal, committed } = runtime();
    rt.send({ type: 'LOGIN', user: 'alice', sid: 's1', exp });
    rt.send({ type: 'SOCKET_OPEN', user: 'alice', sid: 's1', socket: 1 });
    rt.send({ type: 'POST_GROUP', from: 'alice', text: 'hi', socket: 1 });
    expect(committed.map((event) => event.type)).toEqual(['SessionStarted', 'SocketOpened', 'PresenceChanged', 'GroupMessagePosted']);
    expect(journal.size).toBe(4);
    expect(describeState(journal.rebuild())).toEqual(describeState(rt.state as never));
  });

  it('hands out one growing sequence to group and direct messages', () => {
    const { rt, committed } = runtime();
    for (const [user, socket] of [['alice', 1], ['bob', 2]] as const) {
      rt.send({ type: 'LOGIN', user, sid: user, exp });
      rt.send({ type: 'SOCKET_OPEN', user, sid: user, socket });
    }
    rt.send({ type: 'POST_GROUP', from: 'alice', text: 'a', socket: 1 });
    rt.send({ type: 'POST_DIRECT', from: 'bob', to: 'alice', text: 'b', socket: 2 });
    rt.send({ type: 'POST_GROUP', from: 'bob', text: 'c', socket: 2, cid: 'x' });
    const ids = committed.flatMap((event) => ('id' in event ? [event.id] : []));
    expect(ids).toEqual([1, 2, 3]);
    expect(rt.state.seq).toBe(3);
  });

  it('refuses a direct message to an offline user without using an id', () => {
    const { rt, rejected } = runtime();
    rt.send({ type: 'POST_DIRECT', from: 'alice', to: 'ghost', text: 'hi', socket: 7, cid: 'c' });
    expect(rejected).toEqual([{ type: 'rejected', socket: 7, code: 'user_offline', message: 'ghost is offline', cid: 'c' }]);
    expect(rt.state.seq).toBe(0);
  });

  it('refuses a socket of a revoked session', () => {
    const { rt, rejected } = runtime();
    rt.send({ type: 'LOGIN', user: 'alice', sid: 's1', exp });
    rt.send({ type: 'LOGOUT', user: 'alice', sid: 's1', exp });
    rt.send({ type: 'SOCKET_OPEN', user: 'alice', sid: 's1', socket: 3 });
    expect(rejected).toMatchObject([{ socket: 3, code: 'session_revoked' }]);
    expect(rt.state.sockets.get('alice')).toBeUndefined();
  });

  it('spawns user actors in bounded shards and reuses the room users leave', () => {
    const { rt } = runtime(2);
    for (let i = 0; i < 5; i++) rt.send({ type: 'LOGIN', user: `u${i}`, sid: `s${i}`, exp });
    expect(rt.liveActors).toBe(5);
    for (let i = 0; i < 5; i++) rt.send({ type: 'LOGOUT', user: `u${i}`, sid: `s${i}`, exp });
    expect(rt.liveActors).toBe(0);
    for (let i = 0; i < 5; i++) rt.send({ type: 'LOGIN', user: `v${i}`, sid: `t${i}`, exp });
    expect(rt.liveActors).toBe(5);
    expect(rt.userActorState('v4')).toBe('connecting');
  });

  it('refuses new messages while draining but still records sockets closing', () => {
    const { rt, rejected, committed } = runtime();
    rt.send({ type: 'LOGIN', user: 'alice', sid: 's1', exp });
    rt.send({ type: 'SOCKET_OPEN', user: 'alice', sid: 's1', socket: 1 });
    rt.send({ type: 'DRAIN' });
    expect(rt.draining).toBe(true);
    rt.send({ type: 'POST_GROUP', from: 'alice', text: 'late', socket: 1 });
    rt.send({ type: 'SOCKET_CLOSE', user: 'alice', socket: 1 });
    expect(rejected).toMatchObject([{ code: 'shutting_down' }]);
    expect(committed.at(-2)).toMatchObject({ type: 'SocketClosed', user: 'alice' });
    expect(committed.at(-1)).toMatchObject({ type: 'PresenceChanged', user: 'alice', status: 'grace', previous: 'online' });
  });

  it('forgets expired sessions and revocations through a journaled sweep', () => {
    const { rt } = runtime();
    rt.send({ type: 'LOGIN', user: 'alice', sid: 'old', exp: 1_764_000_000 - 1 });
    rt.send({ type: 'LOGOUT', user: 'alice', sid: 'old', exp: 1_764_000_000 - 1 });
    rt.send({ type: 'LOGIN', user: 'bob', sid: 'new', exp });
    rt.send({ type: 'EXPIRE_SESSIONS' });
    expect([...rt.state.revoked.keys()]).toEqual([]);
  });

  it('keeps nothing per login: after many logins the fold holds only the revocations of the logouts', () => {
    const { rt, journal } = runtime();
    const appended = rt.appended;
    for (let i = 0; i < 2000; i++) rt.send({ type: 'LOGIN', user: `u${i}`, sid: `s${i}`, exp });
    for (let i = 0; i < 5; i++) rt.send({ type: 'LOGOUT', user: `u${i}`, sid: `s${i}`, exp });
    // Every login was journaled (the audit fact and the login confirmation's count), none is folded.
    expect(rt.appended - appended).toBe(2005);
    expect(journal.size).toBe(2005);
    const state = describeState(rt.state as never);
    expect(state).toMatchObject({ presence: [], sockets: [], identities: [], sessionsCutoff: 0 });
    expect(state.revoked.map(([sid]) => sid)).toEqual(['s0', 's1', 's2', 's3', 's4']);
    expect(JSON.stringify(describeState(journal.rebuild()))).toBe(JSON.stringify(state));
  });
});
