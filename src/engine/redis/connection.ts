/**
 * @module engine/redis/connection
 * One connection generation to Redis through the official client (node-redis, loaded only when a
 * RedisLog starts): a command connection (auto-pipelined, offline queue off, so nothing waits for
 * a reconnect and nothing is reordered) and the tailer's own connection for the blocking XREAD.
 * The client's own reconnect is off: the RedisLog opens a new generation instead, so every
 * reconnect runs the same steps (SCRIPT LOAD, epoch, fence, catch up) before any append.
 */
import type { RedisTarget } from '../../config.ts';
import type { Script } from './scripts.ts';

export type RedisModule = typeof import('redis');

let loading: Promise<RedisModule> | undefined;

/** The client library, imported on first use only: an embedded node never loads it. */
export function loadRedis(): Promise<RedisModule> {
  loading ??= import('redis');
  return loading;
}

export type { RedisTarget };

/** What the RedisLog needs from a node-redis client (RESP2 replies, raw commands). */
export interface RawClient {
  connect(): Promise<unknown>;
  sendCommand<T>(args: readonly string[]): Promise<T>;
  destroy(): void;
}

export interface Connection {
  commands: RawClient;
  tail: RawClient;
  /** True for a Redis error reply (the command ran and failed), false for a transport failure. */
  isErrorReply(error: unknown): boolean;
  destroy(): void;
}

/**
 * Creates both connections and starts connecting them (`connected`). `onBroken` is called (once per
 * connection, possibly twice) when either one fails or ends; the caller then destroys this
 * generation, which also abandons a connect that hangs (a stalled link accepts TCP, then nothing).
 */
export function openConnection(
  redis: RedisModule,
  target: RedisTarget,
  connectTimeoutMs: number,
  onBroken: (error: Error) => void,
): { connection: Connection; connected: Promise<void> } {
  const commands = createClient(redis, target, connectTimeoutMs);
  const tail = commands.duplicate();
  let open = true;
  for (const client of [commands, tail]) {
    client.on('error', (error: Error) => open && onBroken(error));
    client.on('end', () => open && onBroken(new Error('connection ended')));
  }
  const destroy = (): void => {
    open = false;
    for (const client of [commands, tail]) {
      try {
        client.destroy();
      } catch {
        // destroy() throws ClientClosedError on a client that never opened or already closed: nothing to free
      }
    }
  };
  const connection: Connection = {
    commands: commands as unknown as RawClient,
    tail: tail as unknown as RawClient,
    isErrorReply: (error) => error instanceof redis.ErrorReply,
    destroy,
  };
  return { connection, connected: Promise.all([commands.connect(), tail.connect()]).then(() => undefined) };
}

function createClient(redis: RedisModule, target: RedisTarget, connectTimeoutMs: number) {
  const socketBase = { reconnectStrategy: false as const, connectTimeout: connectTimeoutMs };
  const options =
    'url' in target
      ? { url: target.url, socket: socketBase }
      : { socket: { ...socketBase, path: target.socketPath, tls: false as const } };
  return redis.createClient({ ...options, RESP: 2, disableOfflineQueue: true });
}

/**
 * Opens one short-lived connection outside the generations (e.g. to read the snapshot before the
 * log starts), runs `use` on it and closes it. The whole of it is bounded by `timeoutMs`: a stalled
 * link accepts TCP and then answers nothing.
 */
export async function withConnection<T>(target: RedisTarget, timeoutMs: number, use: (client: RawClient) => Promise<T>): Promise<T> {
  const redis = await loadRedis();
  const client = createClient(redis, target, timeoutMs);
  client.on('error', () => {
    // Reported by the command or the connect that fails with it.
  });
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([client.connect().then(() => use(client as unknown as RawClient)), expired]);
  } finally {
    clearTimeout(timer);
    try {
      client.destroy();
    } catch {
      // never opened: nothing to free
    }
  }
}

/** SCRIPT LOAD for every script; checks Redis hashed each one as we did. */
export async function loadScripts(client: RawClient, scripts: readonly Script[]): Promise<void> {
  const shas = await Promise.all(scripts.map((script) => client.sendCommand<string>(['SCRIPT', 'LOAD', script.source])));
  shas.forEach((sha, index) => {
    if (sha !== scripts[index]!.sha) throw new Error(`SCRIPT LOAD of ${scripts[index]!.name} returned ${sha}`);
  });
}

/** Runs a script by its hash; a script Redis forgot (SCRIPT FLUSH) runs by its source instead. */
export async function runScript<T>(connection: Connection, script: Script, keys: readonly string[], args: readonly string[]): Promise<T> {
  try {
    return await connection.commands.sendCommand<T>(['EVALSHA', script.sha, String(keys.length), ...keys, ...args]);
  } catch (error) {
    if (!connection.isErrorReply(error) || !String((error as Error).message).startsWith('NOSCRIPT')) throw error;
    return connection.commands.sendCommand<T>(['EVAL', script.source, String(keys.length), ...keys, ...args]);
  }
}

/** Whether Redis persists its writes in an append-only file (`INFO persistence`, `aof_enabled`). */
export async function aofEnabled(client: RawClient): Promise<boolean> {
  const info = await client.sendCommand<string>(['INFO', 'persistence']);
  return /^aof_enabled:1\r?$/m.test(info);
}
