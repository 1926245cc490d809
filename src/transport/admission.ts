/**
 * @module transport/admission
 * Who may open a socket: the node is not draining or full, the session (cookie or bearer
 * token) is valid and not revoked, a cookie comes from an allowed origin, the user is under
 * their socket limit. Answers `/ws` upgrades and Socket.IO handshakes alike.
 */
import type { Config } from '../config.ts';
import { ChatError } from '../domain/errors.ts';
import { authenticate, authenticateKnown, type PresentedSession } from '../auth/credentials.ts';
import type { Session, Sessions } from '../auth/sessions.ts';
import { sessionRefused } from '../domain/state.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Metrics } from '../metrics.ts';
import type { SocketData } from './client-socket.ts';
import type { SocketRegistry } from './sockets.ts';
import type { HttpRequestInfo, UpgradeResult } from './types.ts';
import { jsonReply } from './reply.ts';
import type { FrameBudget } from './frame-budget.ts';
import type { AddressLimits } from '../http/address-limits.ts';

export class Admission {
  private nextId = 1;
  private ownOrigins: string[] = [];

  constructor(
    private readonly config: Readonly<Config>,
    private readonly runtime: Runtime,
    private readonly sessions: Sessions,
    private readonly sockets: SocketRegistry,
    private readonly metrics: Metrics,
    private readonly budget: FrameBudget,
    private readonly addressLimits?: AddressLimits,
  ) {}

  /** Learns the port actually listened on (the node's own origins include it on loopback). */
  listening(port: number): void {
    this.ownOrigins = ownOrigins(this.config, port);
  }

  /**
   * A `/ws` upgrade. Synchronous when the token is one this node issued recently (the usual
   * login-then-connect), so the socket is upgraded inside uWS's own upgrade callback; otherwise
   * the signature is verified first.
   */
  /** The per-client-IP upgrade limit (`CHAT_UPGRADE_RATE_PER_MIN`); throws `rate_limited`. Socket.IO handshakes call it too. */
  limitAddress(request: Pick<HttpRequestInfo, 'headers' | 'remoteAddress'>): void {
    this.addressLimits?.check('upgrade', request);
  }

  upgrade(request: HttpRequestInfo): UpgradeResult<SocketData> | Promise<UpgradeResult<SocketData>> {
    try {
      this.limitAddress(request);
      const admitted = this.admit(request.headers, parseAfter(request.query.get('after')));
      if (!(admitted instanceof Promise)) return { ok: true, data: admitted };
      return admitted.then(
        (data): UpgradeResult<SocketData> => ({ ok: true, data }),
        (error: unknown) => this.refuseUpgrade(error),
      );
    } catch (error) {
      return this.refuseUpgrade(error);
    }
  }

  /**
   * The socket's data for a session presented in `headers` (`cookie`, `authorization`, `origin`),
   * or a ChatError (thrown, or the promise rejected) with the stable code of the refusal.
   */
  admit(headers: Record<string, string>, after: number | undefined): SocketData | Promise<SocketData> {
    const isRevoked = (session: Session): boolean => sessionRefused(this.runtime.state, session);
    if (this.runtime.draining) throw new ChatError('shutting_down', 'the node is shutting down; reconnect shortly');
    // Several nodes: not caught up with the shared log, or it is unreachable (a load balancer's /readyz check says the same).
    if (!this.runtime.ready) throw new ChatError('unavailable', 'this node cannot reach the chat engine now; try another node or again shortly');
    if (this.sockets.size >= this.config.limits.maxConnections) throw new ChatError('server_full', 'the node is at its connection limit');
    const known = authenticateKnown(headers, this.sessions, isRevoked);
    if (known) return this.socketData(headers, known, after);
    return authenticate(headers, this.sessions, isRevoked).then((session) => this.socketData(headers, session, after));
  }

  private socketData(headers: Record<string, string>, session: PresentedSession, after: number | undefined): SocketData {
    if (session.via === 'cookie') this.checkOrigin(headers.origin);
    if (this.sockets.ofUser(session.user).length >= this.config.limits.socketsPerUser) {
      throw new ChatError('too_many_sockets', `at most ${this.config.limits.socketsPerUser} sockets per user`);
    }
    return {
      id: this.nextId++,
      user: session.user,
      sid: session.sid,
      issuedAt: session.issuedAt,
      identity: session.identity,
      exp: session.exp,
      after,
      cursor: undefined,
      closed: false,
      opened: false,
      greeted: false,
      stalledSince: undefined,
      watches: 0,
      ...this.budget.initial(),
    };
  }

  private refuseUpgrade(error: unknown): UpgradeResult<SocketData> {
    if (!(error instanceof ChatError)) throw error;
    this.metrics.error(error.code);
    return { ok: false, reply: jsonReply(error.status, { error: { code: error.code, message: error.message } }) };
  }

  private checkOrigin(origin: string | undefined): void {
    // Browsers always send Origin on WebSocket upgrades; a cookie must not let another site open a socket as the user.
    if (origin !== undefined && !this.config.allowedOrigins.includes(origin) && !this.ownOrigins.includes(origin)) {
      throw new ChatError('forbidden', `origin ${origin} may not open a cookie-authenticated socket`);
    }
  }
}

/** The node's own origins: its public URL, and on loopback both names of the listening port. */
function ownOrigins(config: Readonly<Config>, port: number): string[] {
  const scheme = config.tls ? 'https' : 'http';
  const origins = [new URL(config.publicUrl).origin];
  if (['127.0.0.1', 'localhost', '::1'].includes(config.host)) {
    origins.push(`${scheme}://127.0.0.1:${port}`, `${scheme}://localhost:${port}`, `${scheme}://[::1]:${port}`);
  }
  return origins;
}

/** A resume point: a message id as text (`?after=`), or as a number (Socket.IO's `auth.after`). */
export function parseAfter(raw: unknown): number | undefined {
  if (raw === null || raw === undefined || raw === '') return undefined;
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text)) {
    throw new ChatError('invalid_query', '"after" must be a message id (a whole number)');
  }
  return Number(text);
}
