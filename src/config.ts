/**
 * @module config
 * The one place configuration is read: environment variables → a frozen, typed, validated
 * object. A bad value stops start-up with a message naming the variable. Nothing else reads
 * `process.env`.
 */
import { readFileSync } from 'node:fs';
import { checkTrustProxy } from './http/client-ip.ts';

export type PresenceMode = 'all' | 'watch';
export type JournalConfig =
  | { kind: 'memory' }
  | { kind: 'file'; path: string; fsync: 'always' | 'interval' | 'never'; fsyncMs: number; maxBytes: number };

/** Where a RedisLog reaches Redis: a `redis://` / `rediss://` URL, or a unix socket path. */
export type RedisTarget = { url: string } | { socketPath: string };

/**
 * `CHAT_ENGINE`: `embedded` (unset, the default: one process, today's journal) or Redis (several
 * nodes). Parsed and validated here; only src/engine/redis uses it so far — src/node.ts does not
 * read it yet (the supervisor integration of issue 15 comes next).
 */
export type EngineConfig = { kind: 'embedded' } | { kind: 'redis'; target: RedisTarget; nodeTtlMs: number };

/** `CHAT_INSPECT`: where actor inspection events go (see docs/machines.md). */
export interface InspectConfig {
  /** A Stately Inspector relay, `ws://` or `wss://`. */
  relay?: string;
  /** Serve an inspector on 127.0.0.1 at this port (0: any free port). */
  localPort?: number;
  /** Log actor transitions through pino at trace level. */
  log: boolean;
}

export interface Config {
  host: string;
  port: number;
  publicUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  logFormat: 'pretty' | 'json';
  graceMs: number;
  presence: PresenceMode;
  presenceFlushMs: number;
  /** Users in the welcome frame, at most. */
  welcomeUsers: number;
  /** Default and maximum `limit` of a presence page. */
  pageSize: number;
  session: {
    /** Signing secrets: the first signs, all verify (rotation). Empty: generate one at start. */
    secrets: string[];
    ttlSeconds: number;
  };
  devLogin: boolean;
  /** Serve Socket.IO v4 clients at /socket.io/ on the same port (`CHAT_SOCKETIO`). */
  socketIo: boolean;
  oidc?: {
    issuer: string;
    clientId: string;
    clientSecret: string;
    nameClaim: string;
    /** Space-separated; must include `openid`. Default `openid email profile`. */
    scopes: string;
    /** A separate client for the device flow (Google: a "TVs and Limited Input devices" client). */
    deviceClient?: { clientId: string; clientSecret: string };
  };
  tls?: { cert: string; key: string };
  allowedOrigins: string[];
  history: { maxMessages: number; maxAgeMs: number };
  journal: JournalConfig;
  limits: {
    maxPayloadBytes: number;
    maxTextLength: number;
    maxBackpressureBytes: number;
    idleTimeoutSeconds: number;
    messagesPerSecond: number;
    messageBurst: number;
    socketsPerUser: number;
    maxConnections: number;
    /** Frames a socket may send per second, all kinds (0: off), and their burst. */
    framesPerSecond: number;
    frameBurst: number;
    /** Invalid frames a socket may send per minute (and in a burst) before it is closed with 1008 (0: off). */
    invalidFramesPerMinute: number;
    /** Users one socket may watch at once (`watch` presence mode). */
    maxWatches: number;
    /** A replaying socket whose send buffer has not drained for this long is closed as a slow consumer. */
    replayStallMs: number;
    /** Logins (dev and OIDC starts) per client IP per minute (0: off), and their burst. */
    loginPerMinute: number;
    loginBurst: number;
    /** WebSocket upgrades per client IP per minute (0: off), and their burst. */
    upgradePerMinute: number;
    upgradeBurst: number;
  };
  /** The metrics listener (`port` undefined: none) and the bearer token that opens `/metrics` on the public listener. */
  metrics: { host: string; port: number | undefined; token: string | undefined };
  /** Proxies (IPs, CIDRs, `loopback`…) whose X-Forwarded-For is believed for the client IP; empty: none. */
  trustProxy: string[];
  shardSize: number;
  inspect?: InspectConfig;
  engine: EngineConfig;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${env[name]}"`);
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function url(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  try {
    return new URL(raw).toString().replace(/\/$/, '');
  } catch (error) {
    throw new ConfigError(name, `not a valid URL: "${raw}" (${(error as Error).message})`);
  }
}

function secrets(env: Env): string[] {
  const file = env.CHAT_SESSION_SECRET_FILE;
  if (file && env.CHAT_SESSION_SECRET) {
    throw new ConfigError('CHAT_SESSION_SECRET_FILE', 'set either CHAT_SESSION_SECRET or CHAT_SESSION_SECRET_FILE, not both');
  }
  const current = file ? secretFile(file) : [env.CHAT_SESSION_SECRET];
  const all = [...current, ...list(env, 'CHAT_SESSION_PREVIOUS_SECRETS')].filter(
    (secret): secret is string => secret !== undefined && secret !== '',
  );
  for (const secret of all) {
    if (secret.length < 32) throw new ConfigError('CHAT_SESSION_SECRET', 'each secret needs at least 32 characters');
  }
  return all;
}

/** A key file: one secret per line, the first signs, the others still verify; blank and `#` lines skipped. */
function secretFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError('CHAT_SESSION_SECRET_FILE', `cannot read ${path}: ${(error as Error).message}`);
  }
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length === 0) throw new ConfigError('CHAT_SESSION_SECRET_FILE', `${path} holds no secret`);
  lines.forEach((line, index) => {
    if (line.length < 32) throw new ConfigError('CHAT_SESSION_SECRET_FILE', `secret ${index + 1} in ${path} has fewer than 32 characters`);
  });
  return lines;
}

function journal(env: Env): JournalConfig {
  const raw = env.CHAT_JOURNAL ?? 'memory';
  if (raw === 'memory' || raw === '') return { kind: 'memory' };
  if (raw.startsWith('file:') && raw.length > 5) {
    if (env.CHAT_JOURNAL_COMPACT_ABOVE) {
      throw new ConfigError('CHAT_JOURNAL_COMPACT_ABOVE', 'replaced by CHAT_JOURNAL_MAX_BYTES (the journal now compacts online past a size in bytes)');
    }
    return {
      kind: 'file',
      path: raw.slice(5),
      fsync: oneOf(env, 'CHAT_JOURNAL_FSYNC', ['always', 'interval', 'never'], 'interval'),
      fsyncMs: int(env, 'CHAT_JOURNAL_FSYNC_MS', 1000, 1, 60_000),
      maxBytes: int(env, 'CHAT_JOURNAL_MAX_BYTES', 268_435_456, 65_536, Number.MAX_SAFE_INTEGER),
    };
  }
  throw new ConfigError('CHAT_JOURNAL', `expected "memory" or "file:<path>", got "${raw}"`);
}

function engine(env: Env): EngineConfig {
  const raw = (env.CHAT_ENGINE ?? '').trim();
  const nodeTtlMs = int(env, 'CHAT_NODE_TTL_MS', 3000, 100, 600_000);
  if (raw === '' || raw === 'embedded') return { kind: 'embedded' };
  const expected = 'expected redis://host:port[/db], rediss://host:port[/db] or unix:/path';
  if (raw.startsWith('unix:')) {
    const socketPath = raw.slice(5);
    if (!socketPath.startsWith('/') || socketPath.length < 2) throw new ConfigError('CHAT_ENGINE', `${expected}, got "${raw}"`);
    return { kind: 'redis', target: { socketPath }, nodeTtlMs };
  }
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError('CHAT_ENGINE', `${expected}, got "${raw}"`);
  }
  const schemeOk = parsed.protocol === 'redis:' || parsed.protocol === 'rediss:';
  const dbOk = /^\/?(\d{1,5})?$/.test(parsed.pathname) && parsed.search === '' && parsed.hash === '';
  if (!schemeOk || parsed.hostname === '' || !dbOk) throw new ConfigError('CHAT_ENGINE', `${expected}, got "${raw}"`);
  return { kind: 'redis', target: { url: raw }, nodeTtlMs };
}

const INSPECT_LOCAL_PORT = 5001;

function inspect(env: Env): InspectConfig | undefined {
  const raw = env.CHAT_INSPECT;
  if (raw === undefined || raw.trim() === '') return undefined;
  const result: InspectConfig = { log: false };
  for (const item of raw.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    if (item === 'log') result.log = true;
    else if (item === 'local') result.localPort = INSPECT_LOCAL_PORT;
    else if (/^local:\d{1,5}$/.test(item) && Number(item.slice(6)) <= 65535) result.localPort = Number(item.slice(6));
    else if (/^wss?:\/\/[^/]/.test(item) && URL.canParse(item)) result.relay = item;
    else throw new ConfigError('CHAT_INSPECT', `expected a comma-separated list of ws://host:port, local, local:<port> or log, got "${item}"`);
  }
  return result;
}

function oidc(env: Env): Config['oidc'] {
  const issuer = env.CHAT_OIDC_ISSUER;
  if (!issuer) return undefined;
  const clientId = env.CHAT_OIDC_CLIENT_ID;
  const clientSecret = env.CHAT_OIDC_CLIENT_SECRET;
  if (!clientId) throw new ConfigError('CHAT_OIDC_CLIENT_ID', 'required when CHAT_OIDC_ISSUER is set');
  if (!clientSecret) throw new ConfigError('CHAT_OIDC_CLIENT_SECRET', 'required when CHAT_OIDC_ISSUER is set');
  const scopes = (env.CHAT_OIDC_SCOPES || 'openid email profile').trim().split(/\s+/).join(' ');
  if (!scopes.split(' ').includes('openid')) throw new ConfigError('CHAT_OIDC_SCOPES', `must include "openid", got "${scopes}"`);
  const deviceId = env.CHAT_OIDC_DEVICE_CLIENT_ID;
  const deviceSecret = env.CHAT_OIDC_DEVICE_CLIENT_SECRET;
  if (deviceId && !deviceSecret) throw new ConfigError('CHAT_OIDC_DEVICE_CLIENT_SECRET', 'required when CHAT_OIDC_DEVICE_CLIENT_ID is set');
  if (deviceSecret && !deviceId) throw new ConfigError('CHAT_OIDC_DEVICE_CLIENT_ID', 'required when CHAT_OIDC_DEVICE_CLIENT_SECRET is set');
  return {
    issuer: url(env, 'CHAT_OIDC_ISSUER', issuer),
    clientId,
    clientSecret,
    nameClaim: env.CHAT_OIDC_NAME_CLAIM || 'email',
    scopes,
    ...(deviceId && deviceSecret ? { deviceClient: { clientId: deviceId, clientSecret: deviceSecret } } : {}),
  };
}

function tls(env: Env): Config['tls'] {
  const cert = env.CHAT_TLS_CERT;
  const key = env.CHAT_TLS_KEY;
  if (!cert && !key) return undefined;
  if (!cert) throw new ConfigError('CHAT_TLS_CERT', 'required when CHAT_TLS_KEY is set');
  if (!key) throw new ConfigError('CHAT_TLS_KEY', 'required when CHAT_TLS_CERT is set');
  return { cert, key };
}

/**
 * The frame budget is the envelope of the message budget: by default twice CHAT_RATE_PER_S and CHAT_RATE_BURST
 * (at least 100 frames a second, bursts of 200), so raising the message rate raises it too.
 */
function frameLimits(env: Env): Pick<Config['limits'], 'framesPerSecond' | 'frameBurst' | 'invalidFramesPerMinute'> {
  const messages = int(env, 'CHAT_RATE_PER_S', 20, 1, 1_000_000);
  const burst = int(env, 'CHAT_RATE_BURST', 40, 1, 1_000_000);
  return {
    framesPerSecond: int(env, 'CHAT_FRAME_RATE_PER_S', Math.max(100, 2 * messages), 0, 10_000_000),
    frameBurst: int(env, 'CHAT_FRAME_BURST', Math.max(200, 2 * burst), 1, 10_000_000),
    invalidFramesPerMinute: int(env, 'CHAT_MAX_INVALID_FRAMES', 10, 0, 1_000_000),
  };
}

function metricsConfig(env: Env): Config['metrics'] {
  const token = env.CHAT_METRICS_TOKEN || undefined;
  if (token !== undefined && token.length < 16) throw new ConfigError('CHAT_METRICS_TOKEN', 'needs at least 16 characters');
  const off = env.CHAT_METRICS_PORT?.trim() === 'off';
  return {
    host: env.CHAT_METRICS_HOST || '127.0.0.1',
    port: off ? undefined : int(env, 'CHAT_METRICS_PORT', 9464, 0, 65535),
    token,
  };
}

function trustProxy(env: Env): string[] {
  const proxies = list(env, 'CHAT_TRUST_PROXY');
  try {
    checkTrustProxy(proxies);
  } catch (error) {
    throw new ConfigError('CHAT_TRUST_PROXY', `expected comma-separated IPs, CIDRs, loopback, linklocal or uniquelocal: ${(error as Error).message}`);
  }
  return proxies;
}

/** The shortest session lifetime: the token's `exp` is in whole seconds, so a 2 s session lasts 1 to 2 s. */
export const MIN_SESSION_TTL_S = 2;

export function loadConfig(env: Env = process.env, isTty = false): Readonly<Config> {
  const host = env.CHAT_HOST || '127.0.0.1';
  const port = int(env, 'CHAT_PORT', 5000, 0, 65535);
  const tlsConfig = tls(env);
  const scheme = tlsConfig ? 'https' : 'http';
  const publicUrl = url(env, 'CHAT_PUBLIC_URL', `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const oidcConfig = oidc(env);
  const inspectConfig = inspect(env);
  const config: Config = {
    host,
    port,
    publicUrl,
    logLevel: oneOf(env, 'CHAT_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    logFormat: oneOf(env, 'CHAT_LOG_FORMAT', ['pretty', 'json'], isTty ? 'pretty' : 'json'),
    graceMs: int(env, 'CHAT_GRACE_MS', 10_000, 0, 86_400_000),
    presence: oneOf(env, 'CHAT_PRESENCE', ['all', 'watch'], 'all'),
    presenceFlushMs: int(env, 'CHAT_PRESENCE_FLUSH_MS', 50, 1, 60_000),
    welcomeUsers: int(env, 'CHAT_WELCOME_USERS', 100, 0, 10_000),
    pageSize: int(env, 'CHAT_PAGE_SIZE', 100, 1, 10_000),
    session: { secrets: secrets(env), ttlSeconds: int(env, 'CHAT_SESSION_TTL_S', 43_200, MIN_SESSION_TTL_S, 31_536_000) },
    devLogin: bool(env, 'CHAT_DEV_LOGIN', oidcConfig === undefined),
    socketIo: bool(env, 'CHAT_SOCKETIO', true),
    ...(oidcConfig ? { oidc: oidcConfig } : {}),
    ...(tlsConfig ? { tls: tlsConfig } : {}),
    allowedOrigins: env.CHAT_ALLOWED_ORIGINS ? list(env, 'CHAT_ALLOWED_ORIGINS') : [new URL(publicUrl).origin],
    history: {
      maxMessages: int(env, 'CHAT_HISTORY_MAX', 10_000, 0, 10_000_000),
      maxAgeMs: int(env, 'CHAT_HISTORY_MAX_AGE_MS', 3_600_000, 1000, 2_592_000_000),
    },
    journal: journal(env),
    limits: {
      maxPayloadBytes: int(env, 'CHAT_MAX_PAYLOAD', 16_384, 256, 16_777_216),
      maxTextLength: int(env, 'CHAT_MAX_TEXT', 4_000, 1, 1_000_000),
      maxBackpressureBytes: int(env, 'CHAT_MAX_BACKPRESSURE', 1_048_576, 1024, 1_073_741_824),
      idleTimeoutSeconds: int(env, 'CHAT_IDLE_TIMEOUT_S', 120, 8, 960),
      messagesPerSecond: int(env, 'CHAT_RATE_PER_S', 20, 1, 1_000_000),
      messageBurst: int(env, 'CHAT_RATE_BURST', 40, 1, 1_000_000),
      socketsPerUser: int(env, 'CHAT_MAX_SOCKETS_PER_USER', 8, 1, 1000),
      maxConnections: int(env, 'CHAT_MAX_CONNECTIONS', 100_000, 1, 10_000_000),
      ...frameLimits(env),
      maxWatches: int(env, 'CHAT_MAX_WATCHES', 10_000, 1, 10_000_000),
      replayStallMs: int(env, 'CHAT_REPLAY_STALL_MS', 5_000, 100, 60_000),
      loginPerMinute: int(env, 'CHAT_LOGIN_RATE_PER_MIN', 120, 0, 1_000_000),
      loginBurst: int(env, 'CHAT_LOGIN_BURST', 30, 1, 10_000),
      upgradePerMinute: int(env, 'CHAT_UPGRADE_RATE_PER_MIN', 300, 0, 1_000_000),
      upgradeBurst: int(env, 'CHAT_UPGRADE_BURST', 60, 1, 10_000),
    },
    trustProxy: trustProxy(env),
    metrics: metricsConfig(env),
    shardSize: int(env, 'CHAT_SHARD_SIZE', 128, 1, 100_000),
    ...(inspectConfig ? { inspect: inspectConfig } : {}),
    engine: engine(env),
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) if (child && typeof child === 'object') deepFreeze(child);
  return Object.freeze(value);
}
