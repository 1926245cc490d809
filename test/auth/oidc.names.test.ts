/**
 * Offline unit tests of the OIDC helpers: display-name choice from claims (`oidc-names.ts`) and the
 * sealed, single-use flow tokens (`oidc-seal.ts`).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { USERNAME_PATTERN } from '../../src/domain/names.ts';
import { chooseDisplayName } from '../../src/auth/oidc-names.ts';
import { Sealer, UsedTokens } from '../../src/auth/oidc-seal.ts';

const ISS = 'https://accounts.example.com';

describe('chooseDisplayName', () => {
  it('takes the configured claim when it fits the user-name rule', () => {
    expect(chooseDisplayName({ sub: '1', email: 'alice@example.com', email_verified: true, preferred_username: 'al' }, 'email', ISS)).toEqual({
      name: 'alice@example.com',
      from: 'email',
    });
  });

  it('trims surrounding whitespace', () => {
    expect(chooseDisplayName({ sub: '1', email: '  alice@example.com ', email_verified: true }, 'email', ISS).name).toBe('alice@example.com');
  });

  it('skips an e-mail the issuer marks unverified', () => {
    expect(chooseDisplayName({ sub: '1', email: 'alice@example.com', email_verified: false, preferred_username: 'al' }, 'email', ISS)).toEqual({
      name: 'al',
      from: 'preferred_username',
    });
  });

  it('uses an e-mail only when email_verified is exactly true', () => {
    for (const verified of [undefined, 'true', 1, null]) {
      const claims = verified === undefined ? { sub: '1', email: 'alice@example.com' } : { sub: '1', email: 'alice@example.com', email_verified: verified };
      expect(chooseDisplayName(claims, 'email', ISS)).toEqual({ name: '1', from: 'sub' });
    }
    expect(chooseDisplayName({ sub: '1', email: 'alice@example.com', email_verified: true }, 'email', ISS).from).toBe('email');
  });

  it('skips a claim that breaks the rule rather than rewriting it', () => {
    expect(chooseDisplayName({ sub: '1', name: 'Alice Smith', preferred_username: 'asmith' }, 'name', ISS)).toEqual({
      name: 'asmith',
      from: 'preferred_username',
    });
    const tooLong = `${'a'.repeat(60)}@example.com`;
    expect(chooseDisplayName({ sub: '12345', email: tooLong }, 'email', ISS)).toEqual({ name: '12345', from: 'sub' });
    expect(chooseDisplayName({ sub: '12345', email: '.dot@example.com' }, 'email', ISS).from).toBe('sub');
    expect(chooseDisplayName({ sub: '12345', email: 42 }, 'email', ISS).from).toBe('sub');
  });

  it('derives a stable, valid name from issuer and sub when sub itself breaks the rule', () => {
    const first = chooseDisplayName({ sub: 'auth0|abc def' }, 'email', ISS);
    expect(first.from).toBe('sub-hash');
    expect(first.name).toMatch(USERNAME_PATTERN);
    expect(chooseDisplayName({ sub: 'auth0|abc def' }, 'email', ISS)).toEqual(first);
    expect(chooseDisplayName({ sub: 'auth0|abc def' }, 'email', 'https://other.example.com').name).not.toBe(first.name);
  });

  it('refuses an identity without any usable claim or subject (invalid_username)', () => {
    expect(() => chooseDisplayName({ email: 'not an address' }, 'email', ISS)).toThrow(
      expect.objectContaining({ name: 'OidcError', code: 'invalid_username', status: 400 }),
    );
  });
});

describe('Sealer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const codes = { invalid: 'oidc_flow_invalid', expired: 'oidc_flow_expired' } as const;

  it('opens what it sealed, for the same purpose only', async () => {
    const sealer = new Sealer('a-secret-of-enough-length');
    const token = await sealer.seal('login', { s: 'state' }, 60);
    const opened = await sealer.unseal<{ s: string }>('login', token, codes);
    expect(opened.data).toEqual({ s: 'state' });
    expect(opened.jti).toMatch(/^[0-9a-f-]{36}$/);
    await expect(sealer.unseal('device', token, codes)).rejects.toMatchObject({ code: 'oidc_flow_invalid' });
  });

  it('refuses a token past its lifetime with the expired code', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const sealer = new Sealer('a-secret-of-enough-length');
    const token = await sealer.seal('login', {}, 60);
    vi.setSystemTime(Date.now() + 61_000);
    await expect(sealer.unseal('login', token, codes)).rejects.toMatchObject({ code: 'oidc_flow_expired' });
  });

  it('refuses secrets shorter than 16 bytes', () => {
    expect(() => new Sealer('short')).toThrow(TypeError);
    expect(() => new Sealer([])).toThrow(TypeError);
  });
});

describe('UsedTokens', () => {
  it('accepts an id once until it expires', () => {
    const used = new UsedTokens();
    const exp = Date.now() + 60_000;
    expect(used.use('a', exp)).toBe(true);
    expect(used.use('a', exp)).toBe(false);
    expect(used.has('a')).toBe(true);
  });

  it('stays within its bound, dropping the oldest ids first', () => {
    const used = new UsedTokens(3);
    const exp = Date.now() + 60_000;
    for (const id of ['a', 'b', 'c', 'd']) used.use(id, exp);
    expect(used.size).toBe(3);
    expect(used.has('a')).toBe(false);
    expect(used.has('d')).toBe(true);
  });

  it('drops expired ids as new ones arrive', () => {
    const used = new UsedTokens();
    used.use('old', Date.now() - 1);
    used.use('new', Date.now() + 60_000);
    expect(used.size).toBe(1);
  });
});
