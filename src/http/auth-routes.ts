/**
 * @module http/auth-routes
 * The OpenID Connect routes: browser login (`/auth/login` → issuer → `/auth/callback`), logout of the
 * caller's own session, the device login brokered for the console client, and `/auth/config` for the web
 * client. Sessions are started exactly as dev login starts them (`startSession` in routes.ts).
 */
import { parse as parseCookie, serialize as serializeCookie } from 'cookie';
import type { Config } from '../config.ts';
import { ChatError } from '../domain/errors.ts';
import { authenticate } from '../auth/credentials.ts';
import { sessionRefused } from '../domain/state.ts';
import { FLOW_COOKIE, OidcError, type DevicePoll, type Oidc, type OidcIdentity } from '../auth/oidc.ts';
import type { Sessions } from '../auth/sessions.ts';
import type { DevicePollAnswer } from '../protocol/device-login.ts';
import { parseJsonObject } from '../protocol/json.ts';
import type { AddressLimits } from './address-limits.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { RateLimiter } from '../transport/rate-limit.ts';
import type { HttpHandler, HttpReply, Route } from '../transport/types.ts';
import { errorReply, jsonReply } from '../transport/reply.ts';
import { sessionCookie, startSession } from './routes.ts';

export interface AuthRouteDeps {
  config: Readonly<Config>;
  runtime: Runtime;
  sessions: Sessions;
  /** Undefined when OIDC is not configured: the login routes answer 404, the device routes 501. */
  oidc: Oidc | undefined;
  /** Per-client-IP login limit (`CHAT_LOGIN_RATE_PER_MIN`) on `/auth/login` and `POST /auth/device`. */
  addressLimits?: AddressLimits;
  /** Device logins started per remote address: `rate` per second, bursts of `burst`. Default 1 per 6 s, burst 5. */
  deviceStartRate?: { rate: number; burst: number };
  now?: () => number;
}

/** Bodies of the device routes are tiny: `{}` and `{"handle": "<a JWE of ~400 bytes>"}`. */
export const AUTH_BODY_MAX_BYTES = 4096;
const MAX_HANDLE_LENGTH = 2048;
/** The rate limiter keeps one bucket per address; past this many addresses it starts afresh. */
const MAX_TRACKED_ADDRESSES = 10_000;

type AuthErrorCode = OidcError['code'] | ChatError['code'];

function authError(status: number, code: AuthErrorCode, message: string): HttpReply {
  return jsonReply(status, { error: { code, message } });
}

/** An OidcError or ChatError as its JSON error reply with its status; anything else is a bug (rethrown: 500). */
function refusal(error: unknown): HttpReply {
  if (error instanceof OidcError) return authError(error.status, error.code, error.message);
  if (error instanceof ChatError) return errorReply(error);
  throw error;
}

function guarded(handler: HttpHandler): HttpHandler {
  return async (request, body) => {
    try {
      return await handler(request, body);
    } catch (error) {
      return refusal(error);
    }
  };
}

function isSecure(config: Readonly<Config>): boolean {
  return config.tls !== undefined || config.publicUrl.startsWith('https:');
}

function flowCookie(config: Readonly<Config>, value: string, maxAgeSeconds: number): string {
  // SameSite=Lax: the issuer's redirect back to the callback is a top-level GET, which Lax lets through.
  return serializeCookie(FLOW_COOKIE.name, value, {
    httpOnly: true,
    sameSite: 'lax',
    path: FLOW_COOKIE.path,
    secure: isSecure(config),
    maxAge: maxAgeSeconds,
  });
}

function readJson(body: Buffer | undefined): Record<string, unknown> {
  const text = body?.toString('utf8') ?? '';
  if (text.trim() === '') return {};
  const parsed = parseJsonObject(text);
  if (parsed.ok) return parsed.value;
  if (parsed.reason === 'not_json') throw new ChatError('invalid_frame', 'the request body is not JSON', { cause: parsed.cause });
  throw new ChatError('invalid_frame', 'the request body must be a JSON object');
}

/** A per-address token bucket that forgets everyone when it tracks too many addresses (bounded memory). */
function addressLimiter(rate: number, burst: number, now: () => number): (address: string) => boolean {
  let limiter = new RateLimiter(rate, burst, now);
  let tracked = new Set<string>();
  return (address) => {
    if (!tracked.has(address) && tracked.size >= MAX_TRACKED_ADDRESSES) {
      limiter = new RateLimiter(rate, burst, now);
      tracked = new Set();
    }
    tracked.add(address);
    return limiter.take(address);
  };
}

export function createAuthRoutes(deps: AuthRouteDeps): Route[] {
  const { config, runtime, sessions, oidc } = deps;
  const deviceRate = deps.deviceStartRate ?? { rate: 1 / 6, burst: 5 };
  const admitDeviceStart = addressLimiter(deviceRate.rate, deviceRate.burst, deps.now ?? Date.now);

  const needOidc = (): Oidc => {
    if (!oidc) throw new ChatError('not_found', 'OpenID Connect is not configured on this node');
    return oidc;
  };
  const needDevice = (): Oidc => {
    if (!oidc) throw new OidcError('device_flow_unsupported', 'this node has no OpenID Connect issuer, so no device login');
    if (!oidc.deviceFlowSupported) throw new OidcError('device_flow_unsupported', `issuer ${oidc.issuer} does not offer device login`);
    return oidc;
  };
  const sessionFor = (identity: OidcIdentity) =>
    startSession({ config, runtime, sessions }, identity.name, { issuer: identity.issuer, subject: identity.subject });

  const authConfig: HttpHandler = () =>
    jsonReply(200, { oidc: oidc !== undefined, devLogin: config.devLogin, deviceFlow: oidc?.deviceFlowSupported ?? false });

  const login: HttpHandler = async (request) => {
    needOidc();
    deps.addressLimits?.check('login', request);
    const { redirectTo, flowCookie: sealed } = await needOidc().startLogin();
    const cookie = flowCookie(config, sealed, FLOW_COOKIE.maxAgeSeconds);
    return { status: 302, headers: { location: redirectTo, 'cache-control': 'no-store', 'set-cookie': cookie } };
  };

  const callback: HttpHandler = async (request): Promise<HttpReply> => {
    const provider = needOidc();
    const clearFlow = flowCookie(config, '', 0);
    const sealed = request.headers.cookie ? parseCookie(request.headers.cookie)[FLOW_COOKIE.name] : undefined;
    try {
      const identity = await provider.finishLogin(request.query, sealed || undefined);
      const started = await sessionFor(identity);
      return { status: 302, headers: { location: '/', 'cache-control': 'no-store', 'set-cookie': [started.cookie, clearFlow] } };
    } catch (error) {
      // The flow cookie is single-use either way: clear it on refusals too.
      const reply = refusal(error);
      const headers: Record<string, string | string[]> = { ...reply.headers, 'set-cookie': clearFlow };
      return { ...reply, headers };
    }
  };

  const logout: HttpHandler = async (request) => {
    const session = await authenticate(request.headers, sessions, (presented) => sessionRefused(runtime.state, presented));
    await runtime.commit({ type: 'LOGOUT', user: session.user, sid: session.sid, exp: session.exp });
    return jsonReply(200, { user: session.user, loggedOut: true }, { 'set-cookie': sessionCookie(config, '', 0) });
  };

  const deviceStart: HttpHandler = async (request, body) => {
    readJson(body);
    const provider = needDevice();
    deps.addressLimits?.check('login', request);
    if (!admitDeviceStart(request.remoteAddress)) throw new ChatError('rate_limited', 'too many device logins from this address; try again in a few seconds');
    return jsonReply(200, await provider.startDevice());
  };

  const devicePoll: HttpHandler = async (request, body) => {
    const { handle } = readJson(body);
    const provider = needDevice();
    if (typeof handle !== 'string' || handle === '' || handle.length > MAX_HANDLE_LENGTH) {
      throw new ChatError('invalid_frame', '"handle" must be the handle that POST /auth/device returned');
    }
    const polled: DevicePoll = await provider.pollDevice(handle);
    if (polled.status !== 'ok') return jsonReply(200, polled satisfies DevicePollAnswer);
    const started = await sessionFor(polled.identity);
    return jsonReply(200, { status: 'ok', ...started.body } satisfies DevicePollAnswer);
  };

  return [
    { method: 'get', pattern: '/auth/config', handler: guarded(authConfig) },
    { method: 'get', pattern: '/auth/login', handler: guarded(login) },
    { method: 'get', pattern: '/auth/callback', handler: callback },
    { method: 'post', pattern: '/auth/logout', handler: guarded(logout), maxBodyBytes: AUTH_BODY_MAX_BYTES },
    { method: 'post', pattern: '/auth/device', handler: guarded(deviceStart), maxBodyBytes: AUTH_BODY_MAX_BYTES },
    { method: 'post', pattern: '/auth/device/poll', handler: guarded(devicePoll), maxBodyBytes: AUTH_BODY_MAX_BYTES },
  ];
}

