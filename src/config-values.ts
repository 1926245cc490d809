/**
 * @module config-values
 * The value parsers behind `loadConfig` (src/config.ts): each takes the environment as a parameter
 * (never `process.env`) and returns a typed value or throws a `ConfigError` naming the variable —
 * numbers, choices, flags, lists, URLs, the session secrets (or their key file), and the grouped
 * settings (journal, engine, inspect, OIDC, TLS, frame limits, metrics, trusted proxies).
 */
import { readFileSync } from 'node:fs';
import { checkTrustProxy } from './http/client-ip.ts';
import type { Config, EngineConfig, InspectConfig, JournalConfig } from './config.ts';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
  }
}

export type Env = Record<string, string | undefined>;

export function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${env[name]}"`);
}

export function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function url(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  try {
    return new URL(raw).toString().replace(/\/$/, '');
  } catch (error) {
    throw new ConfigError(name, `not a valid URL: "${raw}" (${(error as Error).message})`);
  }
}

export function secrets(env: Env): string[] {
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

export function journal(env: Env): JournalConfig {
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

export function engine(env: Env): EngineConfig {
  const raw = (env.CHAT_ENGINE ?? '').trim();
  const nodeTtlMs = int(env, 'CHAT_NODE_TTL_MS', 3000, 100, 600_000);
  const snapshotEvery = int(env, 'CHAT_SNAPSHOT_EVERY', 50_000, 10, 100_000_000);
  if (raw === '' || raw === 'embedded') return { kind: 'embedded' };
  const expected = 'expected redis://host:port[/db], rediss://host:port[/db] or unix:/path';
  if (raw.startsWith('unix:')) {
    const socketPath = raw.slice(5);
    if (!socketPath.startsWith('/') || socketPath.length < 2) throw new ConfigError('CHAT_ENGINE', `${expected}, got "${raw}"`);
    return { kind: 'redis', target: { socketPath }, nodeTtlMs, snapshotEvery };
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
  return { kind: 'redis', target: { url: raw }, nodeTtlMs, snapshotEvery };
}

const INSPECT_LOCAL_PORT = 5001;

export function inspect(env: Env): InspectConfig | undefined {
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

export function oidc(env: Env): Config['oidc'] {
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

export function tls(env: Env): Config['tls'] {
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
export function frameLimits(env: Env): Pick<Config['limits'], 'framesPerSecond' | 'frameBurst' | 'invalidFramesPerMinute'> {
  const messages = int(env, 'CHAT_RATE_PER_S', 20, 1, 1_000_000);
  const burst = int(env, 'CHAT_RATE_BURST', 40, 1, 1_000_000);
  return {
    framesPerSecond: int(env, 'CHAT_FRAME_RATE_PER_S', Math.max(100, 2 * messages), 0, 10_000_000),
    frameBurst: int(env, 'CHAT_FRAME_BURST', Math.max(200, 2 * burst), 1, 10_000_000),
    invalidFramesPerMinute: int(env, 'CHAT_MAX_INVALID_FRAMES', 10, 0, 1_000_000),
  };
}

export function metricsConfig(env: Env): Config['metrics'] {
  const token = env.CHAT_METRICS_TOKEN || undefined;
  if (token !== undefined && token.length < 16) throw new ConfigError('CHAT_METRICS_TOKEN', 'needs at least 16 characters');
  const off = env.CHAT_METRICS_PORT?.trim() === 'off';
  return {
    host: env.CHAT_METRICS_HOST || '127.0.0.1',
    port: off ? undefined : int(env, 'CHAT_METRICS_PORT', 9464, 0, 65535),
    token,
  };
}

export function trustProxy(env: Env): string[] {
  const proxies = list(env, 'CHAT_TRUST_PROXY');
  try {
    checkTrustProxy(proxies);
  } catch (error) {
    throw new ConfigError('CHAT_TRUST_PROXY', `expected comma-separated IPs, CIDRs, loopback, linklocal or uniquelocal: ${(error as Error).message}`);
  }
  return proxies;
}
