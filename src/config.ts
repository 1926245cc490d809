/**
 * @module config
 * The one place configuration is read: environment variables → a frozen, typed, validated
 * object. A bad value stops start-up with a message naming the variable. Nothing else reads
 * `process.env`: `loadConfig(env)` passes `env` to the value parsers in config-values.ts.
 */
import {
  type Env,
  ConfigError,
  bool,
  engine,
  frameLimits,
  inspect,
  int,
  journal,
  list,
  metricsConfig,
  oidc,
  oneOf,
  secrets,
  tls,
  trustProxy,
  url,
} from './config-values.ts';

export { ConfigError } from './config-values.ts';

export type PresenceMode = 'all' | 'watch';
export type JournalConfig =
  | { kind: 'memory' }
  | { kind: 'file'; path: string; fsync: 'always' | 'interval' | 'never'; fsyncMs: number; maxBytes: number };

/** Where a RedisLog reaches Redis: a `redis://` / `rediss://` URL, or a unix socket path. */
export type RedisTarget = { url: string } | { socketPath: string };

/**
 * `CHAT_ENGINE`: `embedded` (unset, the default: one process, today's journal) or Redis (several
 * nodes sharing one chat: src/runtime/cluster-runtime.ts). Redis needs `CHAT_SESSION_SECRET`.
 */
export type EngineConfig =
  | { kind: 'embedded' }
  /** `snapshotEvery` (`CHAT_SNAPSHOT_EVERY`): log entries between snapshots of the fold (the log is trimmed below them). */
  | { kind: 'redis'; target: RedisTarget; nodeTtlMs: number; snapshotEvery: number };

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
  if (config.engine.kind === 'redis' && config.session.secrets.length === 0) {
    // A generated key would make every other node refuse this node's sessions.
    throw new ConfigError('CHAT_SESSION_SECRET', 'is required with CHAT_ENGINE (several nodes must verify each other\'s sessions): set CHAT_SESSION_SECRET or CHAT_SESSION_SECRET_FILE');
  }
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const child of Object.values(value)) if (child && typeof child === 'object') deepFreeze(child);
  return Object.freeze(value);
}
