import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('config', () => {
  it('has embedded defaults that need nothing external', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 5000,
      graceMs: 10_000,
      presence: 'all',
      presenceFlushMs: 50,
      devLogin: true,
      journal: { kind: 'memory' },
      publicUrl: 'http://127.0.0.1:5000',
      allowedOrigins: ['http://127.0.0.1:5000'],
    });
    expect(config.session.ttlSeconds).toBe(43_200);
    expect(Object.isFrozen(config.limits)).toBe(true);
  });

  it.each([
    ['CHAT_PORT', 'abc', /CHAT_PORT: expected a whole number/],
    ['CHAT_PORT', '70000', /CHAT_PORT: must be between 0 and 65535/],
    ['CHAT_GRACE_MS', '-5', /CHAT_GRACE_MS/],
    ['CHAT_PRESENCE', 'some', /CHAT_PRESENCE: must be one of all, watch/],
    ['CHAT_PRESENCE_FLUSH_MS', '0', /CHAT_PRESENCE_FLUSH_MS/],
    ['CHAT_SESSION_SECRET', 'short', /CHAT_SESSION_SECRET: each secret needs at least 32 characters/],
    ['CHAT_JOURNAL', 'redis://x', /CHAT_JOURNAL/],
    ['CHAT_DEV_LOGIN', 'maybe', /CHAT_DEV_LOGIN/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('reads the file journal: CHAT_JOURNAL_MAX_BYTES defaults to 256 MiB; CHAT_JOURNAL_COMPACT_ABOVE is refused, pointing to it', () => {
    expect(loadConfig({ CHAT_JOURNAL: 'file:/tmp/j.log' }).journal).toEqual({
      kind: 'file',
      path: '/tmp/j.log',
      fsync: 'interval',
      fsyncMs: 1000,
      maxBytes: 268_435_456,
    });
    expect(loadConfig({ CHAT_JOURNAL: 'file:/tmp/j.log', CHAT_JOURNAL_MAX_BYTES: '1048576' }).journal).toMatchObject({ maxBytes: 1_048_576 });
    expect(() => loadConfig({ CHAT_JOURNAL: 'file:/tmp/j.log', CHAT_JOURNAL_MAX_BYTES: '1000' })).toThrow(/CHAT_JOURNAL_MAX_BYTES/);
    expect(() => loadConfig({ CHAT_JOURNAL: 'file:/tmp/j.log', CHAT_JOURNAL_COMPACT_ABOVE: '1000' })).toThrow(/replaced by CHAT_JOURNAL_MAX_BYTES/);
  });

  it('turns dev login off when OIDC is configured, unless enabled explicitly', () => {
    const oidc = { CHAT_OIDC_ISSUER: 'https://accounts.google.com', CHAT_OIDC_CLIENT_ID: 'id', CHAT_OIDC_CLIENT_SECRET: 'secret' };
    expect(loadConfig(oidc).devLogin).toBe(false);
    expect(loadConfig({ ...oidc, CHAT_DEV_LOGIN: 'true' }).devLogin).toBe(true);
    expect(() => loadConfig({ CHAT_OIDC_ISSUER: 'https://accounts.google.com' })).toThrow(/CHAT_OIDC_CLIENT_ID/);
  });
});
