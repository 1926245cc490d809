/**
 * `CHAT_ENGINE` and `CHAT_NODE_TTL_MS`: parsed and validated, embedded by default; and a RedisLog
 * reaching a real redis-server through a unix socket as `unix:/path` describes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { RedisServer } from '../support/redis.ts';
import { group, messageIds, startNode, uniqueTag, type TestNode } from './helpers.ts';

const cleanups: Array<() => Promise<void>> = [];
/** Several nodes must verify each other's sessions: the engine needs a configured secret. */
const SECRET = { CHAT_SESSION_SECRET: 'a-secret-every-node-shares-0123456789' };
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('CHAT_ENGINE', () => {
  it('is embedded when unset, with no Redis anywhere in the config', () => {
    expect(loadConfig({}).engine).toEqual({ kind: 'embedded' });
    expect(loadConfig({ CHAT_ENGINE: 'embedded' }).engine).toEqual({ kind: 'embedded' });
  });

  it.each([
    ['redis://127.0.0.1:6379', { url: 'redis://127.0.0.1:6379' }],
    ['redis://redis.internal:6380/2', { url: 'redis://redis.internal:6380/2' }],
    ['rediss://user:secret@redis.example:6380/0', { url: 'rediss://user:secret@redis.example:6380/0' }],
    ['unix:/run/redis/redis.sock', { socketPath: '/run/redis/redis.sock' }],
  ])('accepts %s', (value, target) => {
    expect(loadConfig({ CHAT_ENGINE: value, ...SECRET }).engine).toEqual({ kind: 'redis', target, nodeTtlMs: 3000, snapshotEvery: 50_000 });
  });

  it.each(['http://127.0.0.1:6379', 'redis://', 'redis://host:6379/x', 'redis://host:6379/1?x=1', 'unix:', 'unix:relative.sock', 'nats://x'])(
    'refuses %s, naming the variable',
    (value) => {
      expect(() => loadConfig({ CHAT_ENGINE: value })).toThrow(ConfigError);
      expect(() => loadConfig({ CHAT_ENGINE: value })).toThrow(/^CHAT_ENGINE: expected redis:\/\/host:port\[\/db\]/);
    },
  );

  it('refuses to start without CHAT_SESSION_SECRET (a generated key would make the other nodes refuse its sessions)', () => {
    expect(() => loadConfig({ CHAT_ENGINE: 'redis://h:1' })).toThrow(/^CHAT_SESSION_SECRET: is required with CHAT_ENGINE/);
    expect(loadConfig({ CHAT_ENGINE: 'redis://h:1', ...SECRET }).session.secrets).toHaveLength(1);
  });

  it('reads CHAT_NODE_TTL_MS within bounds', () => {
    expect(loadConfig({ CHAT_ENGINE: 'redis://h:1', CHAT_NODE_TTL_MS: '500', ...SECRET }).engine).toMatchObject({ nodeTtlMs: 500 });
    expect(() => loadConfig({ CHAT_NODE_TTL_MS: '50' })).toThrow(/CHAT_NODE_TTL_MS: must be between 100 and 600000/);
    expect(() => loadConfig({ CHAT_NODE_TTL_MS: 'soon' })).toThrow(/CHAT_NODE_TTL_MS: expected a whole number/);
  });

  it('lets a RedisLog reach Redis through the unix socket it names', async () => {
    const redis = await RedisServer.start({ unixSocket: true });
    cleanups.push(() => redis.close());
    const engine = loadConfig({ CHAT_ENGINE: `unix:${redis.socketPath}`, CHAT_NODE_TTL_MS: '600', ...SECRET }).engine;
    if (engine.kind !== 'redis') throw new Error('expected the redis engine');
    const node: TestNode = startNode(engine.target, { ttlMs: engine.nodeTtlMs, tag: uniqueTag() });
    cleanups.push(() => node.log.close());
    await node.reach('ready');
    await node.log.propose(group('ann', 'over the socket')).verdict;
    await node.until((entries) => messageIds(entries).length === 1);
    expect(messageIds(node.entries)).toEqual([1]);
  });

  it('warns loudly at connect when Redis does not persist its log', async () => {
    const redis = await RedisServer.start({ appendonly: 'no' });
    cleanups.push(() => redis.close());
    const node = startNode({ url: redis.url }, { ttlMs: 600, tag: uniqueTag() });
    cleanups.push(() => node.log.close());
    const warning = await node.line((line) => String(line.msg).startsWith('REDIS PERSISTENCE IS OFF'));
    expect(warning.level).toBe(40);
    await node.reach('ready');
    const withAof = await RedisServer.start();
    cleanups.push(() => withAof.close());
    const quiet = startNode({ url: withAof.url }, { ttlMs: 600, tag: uniqueTag() });
    cleanups.push(() => quiet.log.close());
    await quiet.reach('ready');
    expect(quiet.lines.some((line) => String(line.msg).startsWith('REDIS PERSISTENCE IS OFF'))).toBe(false);
  });
});
