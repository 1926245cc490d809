/**
 * @module http/routes
 * The HTTP routes of the original proof of concept (PROTOCOL.md): dev login, logout,
 * presence list, scrollback (`/history`), health and readiness. Every route that acts for a user checks whose
 * session it is.
 */
import { serialize as serializeCookie } from 'cookie';
import type { Config } from '../config.ts';
import { ChatError } from '../domain/errors.ts';
import { isValidUsername, nameKey } from '../domain/names.ts';
import { listUsers, sessionRefused } from '../domain/state.ts';
import { authenticate, type PresentedSession } from '../auth/credentials.ts';
import type { Sessions } from '../auth/sessions.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Metrics } from '../metrics.ts';
import type { AddressLimits } from './address-limits.ts';
import { hasMetricsToken } from './metrics-listener.ts';
import type { HttpHandler, HttpRequestInfo, Route } from '../transport/types.ts';
import { errorReply, jsonReply } from '../transport/reply.ts';
import { answerHistory, parseHistoryQuery } from '../protocol/history.ts';
import type { LoginAnswer } from '../protocol/device-login.ts';

export interface RouteDeps {
  config: Readonly<Config>;
  runtime: Runtime;
  sessions: Sessions;
  metrics: Metrics;
  /** Per-client-IP limits on logins (and upgrades, checked by the gateway). */
  addressLimits?: AddressLimits;
  /** Whether the node is ready for traffic (false while starting or draining). */
  ready(): boolean;
}

/** Wraps a handler so that a ChatError becomes its JSON error reply. */
function guarded(handler: HttpHandler): HttpHandler {
  return async (request, body) => {
    try {
      return await handler(request, body);
    } catch (error) {
      if (error instanceof ChatError) return errorReply(error);
      throw error;
    }
  };
}

export function sessionCookie(config: Readonly<Config>, token: string, maxAgeSeconds: number): string {
  return serializeCookie('session', token, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: config.tls !== undefined || config.publicUrl.startsWith('https:'),
    maxAge: maxAgeSeconds,
  });
}

export interface StartedSession {
  /** What dev login and device login answer (protocol/device-login.ts, the one wire contract). */
  body: LoginAnswer;
  /** The `Set-Cookie` value carrying the session. */
  cookie: string;
}

/**
 * Starts a session for `user` — dev login, OIDC browser login and OIDC device login all come here — and
 * journals it. `identity` is the OIDC identity the name came from: a name bound to an identity is
 * refused (`name_taken`) to anyone else, dev login included; the first OIDC login binds it.
 */
export async function startSession(
  deps: Pick<RouteDeps, 'config' | 'runtime' | 'sessions'>,
  user: string,
  identity?: { issuer: string; subject: string },
): Promise<StartedSession> {
  const { config, runtime, sessions } = deps;
  if (runtime.draining) throw new ChatError('shutting_down', 'the node is shutting down');
  const issued = sessions.issue(user, identity);
  // Names are one name whatever their case (domain/names.ts nameKey): a bound `alice@x` refuses `Alice@x` too.
  const bound = runtime.state.identities.get(nameKey(user));
  if (bound && (identity === undefined || bound.issuer !== identity.issuer || bound.subject !== identity.subject)) {
    throw new ChatError('name_taken', `the name ${user} belongs to another account`);
  }
  if (identity && !bound) {
    // The name becomes the identity's: sessions others started under it before now (dev login, any case) are
    // refused from this binding on (domain/state.ts sessionRefused), and the gateway closes their sockets.
    // Decided where facts are ordered (the journal's turn, or the shared log's script), so two logins cannot both bind one name.
    await runtime.commit({ type: 'BIND_IDENTITY', user, issuer: identity.issuer, subject: identity.subject });
  }
  await runtime.commit({ type: 'LOGIN', user, sid: issued.sid, exp: issued.exp });
  return {
    body: { user, token: issued.token, expiresAt: issued.exp * 1000 },
    cookie: sessionCookie(config, issued.token, config.session.ttlSeconds),
  };
}

export function createRoutes(deps: RouteDeps): Route[] {
  const { config, runtime, sessions } = deps;
  const whoIsThis = (request: HttpRequestInfo): Promise<PresentedSession> =>
    authenticate(request.headers, sessions, (session) => sessionRefused(runtime.state, session));

  const login: HttpHandler = async (request) => {
    if (!config.devLogin) throw new ChatError('dev_login_disabled', 'dev login is off on this node; use /auth/login');
    deps.addressLimits?.check('login', request);
    const user = request.params[0] ?? '';
    if (!isValidUsername(user)) {
      throw new ChatError('invalid_username', 'a user name is 1 to 64 letters, digits or _.@+- and starts with a letter or digit');
    }
    const started = await startSession(deps, user);
    return jsonReply(200, started.body, { 'set-cookie': started.cookie });
  };

  const logout: HttpHandler = async (request) => {
    const session = await whoIsThis(request);
    const user = request.params[0] ?? '';
    if (user !== session.user) throw new ChatError('forbidden', `this session belongs to ${session.user}, not ${user}`);
    // Recorded, then applied (the token stops working), then answered: never the other way round.
    await runtime.commit({ type: 'LOGOUT', user, sid: session.sid, exp: session.exp });
    return jsonReply(200, { user, loggedOut: true }, { 'set-cookie': sessionCookie(config, '', 0) });
  };

  const users: HttpHandler = async (request) => {
    await whoIsThis(request);
    const after = request.query.get('after') || undefined;
    const rawLimit = request.query.get('limit');
    if (after !== undefined && !isValidUsername(after)) throw new ChatError('invalid_query', '"after" must be a user name');
    let limit = config.pageSize;
    if (rawLimit !== null && rawLimit !== '') {
      if (!/^\d{1,6}$/.test(rawLimit) || Number(rawLimit) < 1) throw new ChatError('invalid_query', '"limit" must be a positive whole number');
      limit = Math.min(Number(rawLimit), config.pageSize);
    }
    return jsonReply(200, listUsers(runtime.state, after, limit));
  };

  const history: HttpHandler = async (request) => {
    const session = await whoIsThis(request);
    return jsonReply(200, answerHistory(runtime, session.user, parseHistoryQuery(request.query)));
  };

  const notFound: HttpHandler = (request) => {
    throw new ChatError('not_found', `no route for ${request.method.toUpperCase()} ${request.path.slice(0, 200)}`);
  };

  return [
    { method: 'get', pattern: '/login/:username', handler: guarded(login) },
    { method: 'get', pattern: '/logout/:username', handler: guarded(logout) },
    { method: 'get', pattern: '/list-users', handler: guarded(users) },
    { method: 'get', pattern: '/history', handler: guarded(history) },
    { method: 'get', pattern: '/healthz', handler: () => jsonReply(200, { status: 'ok' }) },
    {
      method: 'get',
      pattern: '/metrics',
      // Not for the public without credentials: the loopback metrics listener serves it (metrics-listener.ts).
      handler: guarded(async (request) => {
        const token = config.metrics.token;
        if (token === undefined || !hasMetricsToken(request.headers.authorization, token)) {
          throw new ChatError('not_found', 'metrics are served on the metrics listener (CHAT_METRICS_PORT), or here with CHAT_METRICS_TOKEN');
        }
        const { contentType, body } = await deps.metrics.exposition();
        return { status: 200, headers: { 'content-type': contentType }, body };
      }),
    },
    {
      method: 'get',
      pattern: '/readyz',
      handler: () => (deps.ready() ? jsonReply(200, { ready: true }) : jsonReply(503, { ready: false })),
    },
    { method: 'any', pattern: '/*', handler: guarded(notFound) },
  ];
}
