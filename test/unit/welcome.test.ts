import { describe, expect, it } from 'vitest';
import { createChatState, evolve, listUsers, statusOf, type ChatState } from '../../src/domain/state.ts';
import type { PresenceStatus } from '../../src/domain/events.ts';
import { WelcomeEncoder } from '../../src/protocol/welcome.ts';

/** The welcome frame built the plain way: walk the list, encode the whole object. */
function reference(state: ChatState, user: string, seq: number, oldest: number, limit: number): unknown {
  const page = listUsers(state, undefined, limit);
  return {
    type: 'welcome',
    user,
    seq,
    oldest,
    online: page.online,
    total: page.total,
    users: page.users,
    truncated: page.total > page.users.length,
    next: page.next,
  };
}

function change(state: ChatState, welcome: WelcomeEncoder, user: string, status: PresenceStatus): void {
  const previous = statusOf(state, user);
  if (previous === status) return;
  evolve(state, { type: 'PresenceChanged', user, status, previous, at: 0 });
  welcome.changed(user);
}

describe('welcome encoder', () => {
  for (const limit of [0, 1, 5, 100]) {
    it(`matches the plain encoding through 3,000 random presence changes (page of ${limit})`, () => {
      const state = createChatState();
      const welcome = new WelcomeEncoder(limit);
      const statuses: PresenceStatus[] = ['online', 'grace', 'offline'];
      let seed = 42 + limit;
      const random = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      for (let step = 0; step < 3000; step++) {
        change(state, welcome, `u${random(60)}`, statuses[random(3)]!);
        if (step % 7 === 0) {
          const frame = JSON.parse(welcome.encode(state, 'me"\\', step, step >> 1)) as unknown;
          expect(frame).toEqual(reference(state, 'me"\\', step, step >> 1, limit));
        }
      }
      expect(state.presence.size).toBeGreaterThan(limit === 100 ? 10 : limit);
    });
  }

  it('reuses the encoded page while changes sort after it, and rebuilds it when one lands on it', () => {
    const state = createChatState();
    const welcome = new WelcomeEncoder(2);
    change(state, welcome, 'a', 'online');
    change(state, welcome, 'b', 'online');
    const first = welcome.encode(state, 'x', 0, 0);
    change(state, welcome, 'c', 'online');
    expect(welcome.encode(state, 'x', 0, 0)).toContain('"users":[{"name":"a","status":"online"},{"name":"b","status":"online"}],"truncated":true,"next":"b"');
    expect(first).toContain('"truncated":false,"next":null');
    change(state, welcome, 'b', 'grace');
    expect(welcome.encode(state, 'x', 0, 0)).toContain('{"name":"b","status":"grace"}');
    change(state, welcome, 'a', 'offline');
    expect(welcome.encode(state, 'x', 0, 0)).toContain('"users":[{"name":"b","status":"grace"},{"name":"c","status":"online"}],"truncated":false');
  });
});
