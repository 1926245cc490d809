/**
 * Authentication without a table of sessions: a token is refused by its revocation, by the sessions
 * cutoff a journal repair sets, or by a binding of its name made after it was issued that it does not
 * carry; tokens carry their issue time in ms and their OIDC identity; old snapshots still load.
 */
import { describe, expect, it } from 'vitest';
import { Sessions } from '../../src/auth/sessions.ts';
import { createChatState, evolve, sessionRefused } from '../../src/domain/state.ts';
import { fromSnapshot, toSnapshot } from '../../src/domain/snapshot.ts';

const identity = { issuer: 'https://idp.example', subject: 'alice-sub' };
const boundAt = 1_764_000_000_000;

function boundState() {
  const state = createChatState();
  evolve(state, { type: 'IdentityBound', user: 'alice@example.com', ...identity, at: boundAt });
  return state;
}

describe('sessionRefused', () => {
  it('refuses sessions of a bound name, any case, issued up to the binding without its identity; accepts the rest', () => {
    const state = boundState();
    const session = (user: string, issuedAt: number, carried?: typeof identity) => ({ sid: `${user}-${issuedAt}`, user, issuedAt, identity: carried });
    expect(sessionRefused(state, session('alice@example.com', boundAt - 5000))).toBe(true);
    expect(sessionRefused(state, session('Alice@Example.com', boundAt - 5000))).toBe(true);
    expect(sessionRefused(state, session('alice@example.com', boundAt))).toBe(true);
    expect(sessionRefused(state, session('alice@example.com', boundAt - 5000, { ...identity, subject: 'mallory' }))).toBe(true);
    // The identity's own sessions, before the binding too (its login issues the token, then binds).
    expect(sessionRefused(state, session('alice@example.com', boundAt - 1, identity))).toBe(false);
    // Issued after the binding (a token of an older version, which carried no identity): the name was refused to others by then.
    expect(sessionRefused(state, session('alice@example.com', boundAt + 1))).toBe(false);
    expect(sessionRefused(state, session('bob', boundAt - 5000))).toBe(false);
    evolve(state, { type: 'SessionEnded', sid: 'bob-1', user: 'bob', exp: 9_999_999_999, reason: 'logout', at: boundAt });
    expect(sessionRefused(state, session('bob', 1))).toBe(true);
  });

  it('refuses every session issued up to the sessions cutoff, and keeps the cutoff and bindings through a snapshot', () => {
    const state = boundState();
    state.sessionsCutoff = boundAt + 60_000;
    const restored = fromSnapshot(JSON.parse(JSON.stringify(toSnapshot(state))));
    expect(restored.sessionsCutoff).toBe(boundAt + 60_000);
    expect(restored.identities.get('alice@example.com')).toEqual({ ...identity, at: boundAt });
    expect(sessionRefused(restored, { sid: 'x', user: 'carol', issuedAt: boundAt + 60_000 })).toBe(true);
    expect(sessionRefused(restored, { sid: 'x', user: 'carol', issuedAt: boundAt + 60_001 })).toBe(false);
  });

  it('reads a snapshot of an older version: its sessions table is ignored, its bindings (no time) refuse nobody by age', () => {
    const old = {
      seq: 7,
      presence: [],
      online: 0,
      sockets: [],
      sessions: [['s1', { user: 'alice@example.com', exp: 9_999_999_999 }]],
      revoked: [['s0', 9_999_999_999]],
      identities: [['alice@example.com', identity]],
    };
    const state = fromSnapshot(old as never);
    expect(state.sessionsCutoff).toBe(0);
    expect(Object.keys(toSnapshot(state))).not.toContain('sessions');
    expect(sessionRefused(state, { sid: 's1', user: 'alice@example.com', issuedAt: 1 })).toBe(false);
    expect(sessionRefused(state, { sid: 's0', user: 'carol', issuedAt: 1 })).toBe(true);
  });
});

describe('session tokens', () => {
  it('carry the issue time in ms and the OIDC identity, through the cache and through a full verify on another node', async () => {
    const secrets = ['k'.repeat(40)];
    let now = boundAt + 123;
    const issuer = new Sessions({ secrets, ttlSeconds: 3600, now: () => now });
    const oidc = issuer.issue('alice@example.com', identity);
    const dev = issuer.issue('bob');
    expect(issuer.known(oidc.token)).toMatchObject({ issuedAt: boundAt + 123, identity });
    expect(issuer.known(dev.token)?.identity).toBeUndefined();
    now += 1000;
    const other = new Sessions({ secrets, ttlSeconds: 3600, now: () => now });
    expect(await other.verify(oidc.token)).toEqual({ user: 'alice@example.com', sid: oidc.sid, exp: oidc.exp, issuedAt: boundAt + 123, identity });
    expect(await other.verify(dev.token)).toEqual({ user: 'bob', sid: dev.sid, exp: dev.exp, issuedAt: boundAt + 123 });
  });
});
