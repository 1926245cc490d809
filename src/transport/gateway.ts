/**
 * @module transport/gateway
 * The WebSocket side of the node: authenticates upgrades, turns frames into supervisor
 * commands, and delivers what the supervisor commits (one publish per message, the C++
 * side copies it to every subscriber). Holds per-socket state in typed user data.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { ChatError } from '../domain/errors.ts';
import { isVisibleTo, type DomainEvent } from '../domain/events.ts';
import { listUsers, statusOf } from '../domain/state.ts';
import { authenticate, authenticateKnown, type PresentedSession } from '../auth/credentials.ts';
import type { Sessions } from '../auth/sessions.ts';
import type { ChatRuntime } from '../runtime/chat-runtime.ts';
import { PresenceBatcher } from '../runtime/presence-batcher.ts';
import { parseClientFrame, type ClientFrame, type FrameLimits } from '../protocol/client-frames.ts';
import * as frames from '../protocol/server-frames.ts';
import { WelcomeEncoder } from '../protocol/welcome.ts';
import { answerHistory } from '../protocol/history.ts';
import { RateLimiter } from './rate-limit.ts';
import { CloseCode } from './close-codes.ts';
import { jsonReply } from '../http/reply.ts';
import type { Metrics } from '../metrics.ts';
import type { ChatSocket, HttpRequestInfo, SocketHandlers, UpgradeResult } from './types.ts';

export interface SocketData {
  id: number;
  user: string;
  sid: string;
  /** Session expiry, epoch seconds. */
  exp: number;
  /** Resume point from `?after=`, if any. */
  after: number | undefined;
  /** While replaying missed messages: the last id sent. Undefined once the socket follows live traffic. */
  cursor: number | undefined;
  closed: boolean;
}

type Socket = ChatSocket<SocketData>;

export const TOPIC_ALL = 'all';
export const presenceTopic = (user: string): string => `p:${user}`;

const decoder = new TextDecoder('utf-8', { fatal: true });
/** Messages read from the history window per step of a replay. */
const REPLAY_PAGE = 256;

export class Gateway implements SocketHandlers<SocketData> {
  private nextId = 1;
  private readonly sockets = new Map<number, Socket>();
  private readonly byUser = new Map<string, Socket[]>();
  /** Sockets replaying missed messages (not yet on the live topic). */
  private readonly replaying = new Set<Socket>();
  private readonly limiter: RateLimiter;
  private readonly frameLimits: FrameLimits;
  private readonly presence: PresenceBatcher;
  private readonly welcome: WelcomeEncoder;
  private publish: (topic: string, message: string) => void = () => {};
  private subscribers: (topic: string) => number = () => 0;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly runtime: ChatRuntime,
    private readonly sessions: Sessions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.frameLimits = { maxTextLength: config.limits.maxTextLength, pageSize: config.pageSize };
    this.limiter = new RateLimiter(config.limits.messagesPerSecond, config.limits.messageBurst);
    this.welcome = new WelcomeEncoder(config.welcomeUsers);
    this.presence = new PresenceBatcher(config.presenceFlushMs, (changes) => this.publishPresence(changes));
    runtime.on('committed', ({ event }) => this.deliver(event));
    runtime.on('rejected', ({ socket, code, message, cid }) => {
      metrics.error(code);
      this.sendTo(socket, frames.encodeError(code, message, cid));
    });
  }

  private ownOrigins: string[] = [];

  /** Connects the gateway to the running server; `port` is the one actually listened on. */
  attach(server: { publish(topic: string, message: string): void; subscribers(topic: string): number; port: number }): void {
    const { port } = server;
    this.publish = server.publish;
    this.subscribers = server.subscribers;
    this.ownOrigins = ownOrigins(this.config, port);
  }

  get connections(): number {
    return this.sockets.size;
  }

  /**
   * Synchronous when the token is one this node issued recently (the usual login-then-connect), so the
   * socket is upgraded inside uWS's own upgrade callback; otherwise the signature is verified first.
   */
  upgrade(request: HttpRequestInfo): UpgradeResult<SocketData> | Promise<UpgradeResult<SocketData>> {
    const isRevoked = (sid: string): boolean => this.runtime.state.revoked.has(sid);
    try {
      if (this.runtime.draining) throw new ChatError('shutting_down', 'the node is shutting down; reconnect shortly');
      if (this.sockets.size >= this.config.limits.maxConnections) throw new ChatError('server_full', 'the node is at its connection limit');
      const after = parseAfter(request.query.get('after'));
      const known = authenticateKnown(request.headers, this.sessions, isRevoked);
      if (known) return this.admit(request, known, after);
      return authenticate(request.headers, this.sessions, isRevoked).then(
        (session) => this.admit(request, session, after),
        (error: unknown) => this.refuseUpgrade(error),
      );
    } catch (error) {
      return this.refuseUpgrade(error);
    }
  }

  private admit(request: HttpRequestInfo, session: PresentedSession, after: number | undefined): UpgradeResult<SocketData> {
    try {
      if (session.via === 'cookie') this.checkOrigin(request.headers.origin);
      if ((this.byUser.get(session.user)?.length ?? 0) >= this.config.limits.socketsPerUser) {
        throw new ChatError('too_many_sockets', `at most ${this.config.limits.socketsPerUser} sockets per user`);
      }
      const data: SocketData = {
        id: this.nextId++,
        user: session.user,
        sid: session.sid,
        exp: session.exp,
        after,
        cursor: undefined,
        closed: false,
      };
      return { ok: true, data };
    } catch (error) {
      return this.refuseUpgrade(error);
    }
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

  open(socket: Socket): void {
    const data = socket.getUserData();
    this.sockets.set(data.id, socket);
    const mine = this.byUser.get(data.user);
    if (mine) mine.push(socket);
    else this.byUser.set(data.user, [socket]);
    this.runtime.send({ type: 'SOCKET_OPEN', user: data.user, sid: data.sid, socket: data.id });
    if (data.closed) return; // refused by the supervisor (session revoked meanwhile)
    socket.cork(() => this.greet(socket, data));
  }

  private greet(socket: Socket, data: SocketData): void {
    const state = this.runtime.state;
    const { oldest } = this.runtime.history(state.seq, 0);
    socket.send(this.welcome.encode(state, data.user, state.seq, oldest));
    if (data.after === undefined || data.after >= state.seq) return this.goLive(socket, data);
    data.cursor = data.after;
    this.replaying.add(socket);
    this.replay(socket, data);
  }

  /** Message topics are joined only once the socket is caught up, so live traffic never overtakes the replay. */
  private goLive(socket: Socket, data: SocketData): void {
    data.cursor = undefined;
    this.replaying.delete(socket);
    socket.subscribe(TOPIC_ALL);
  }

  /**
   * Sends missed messages in pages while the socket's send buffer has room, resuming on `drain`;
   * joins live traffic in the same turn as it sends the last one. A replay larger than maxBackpressure
   * therefore completes instead of getting the reader closed as a slow consumer.
   */
  private replay(socket: Socket, data: SocketData): void {
    const room = this.config.limits.maxBackpressureBytes / 2;
    while (!data.closed && data.cursor !== undefined) {
      const page = this.runtime.history(data.cursor, REPLAY_PAGE);
      if (page.oldest > data.cursor + 1 || (page.oldest === 0 && data.cursor < this.runtime.state.seq)) {
        socket.send(frames.encodeHistoryGap(data.cursor, page.oldest));
      }
      for (const message of page.messages) {
        data.cursor = message.id;
        if (!isVisibleTo(message, data.user)) continue;
        socket.send(frames.encodeMessage(message));
        if (socket.getBufferedAmount() > room) return; // drain() continues from the cursor
      }
      if (page.messages.length < REPLAY_PAGE) return this.goLive(socket, data);
    }
  }

  message(socket: Socket, message: ArrayBuffer, isBinary: boolean): void {
    const data = socket.getUserData();
    if (data.exp * 1000 <= Date.now()) {
      this.closeSocket(socket, CloseCode.SessionExpired, 'session expired');
      return;
    }
    let frame: ClientFrame;
    try {
      if (isBinary) throw new ChatError('invalid_frame', 'frames are UTF-8 JSON text, not binary');
      frame = parseClientFrame(decoder.decode(message), this.frameLimits);
    } catch (error) {
      this.refuse(socket, error);
      return;
    }
    this.handle(socket, data, frame);
  }

  private handle(socket: Socket, data: SocketData, frame: ClientFrame): void {
    switch (frame.type) {
      case 'message':
      case 'direct': {
        if (!this.limiter.take(data.user)) {
          this.metrics.error('rate_limited');
          socket.send(frames.encodeError('rate_limited', 'slow down: too many messages', frame.cid));
          return;
        }
        if (frame.type === 'message') {
          this.runtime.send({ type: 'POST_GROUP', from: data.user, text: frame.text, cid: frame.cid, socket: data.id });
        } else {
          this.runtime.send({ type: 'POST_DIRECT', from: data.user, to: frame.to, text: frame.text, cid: frame.cid, socket: data.id });
        }
        return;
      }
      case 'list-users':
        socket.send(frames.encodeUsers(listUsers(this.runtime.state, frame.after, frame.limit ?? this.config.pageSize)));
        return;
      case 'watch':
      case 'unwatch':
        return this.watch(socket, frame.type, frame.users);
      case 'history':
        socket.send(JSON.stringify(answerHistory(this.runtime, data.user, frame)));
        return;
      case 'ping':
        socket.send('{"type":"pong"}');
        return;
    }
  }

  private watch(socket: Socket, kind: 'watch' | 'unwatch', users: string[]): void {
    if (this.config.presence !== 'watch') return; // in `all` mode every socket already sees every change
    const state = this.runtime.state;
    const current: frames.PresenceChange[] = [];
    for (const user of users) {
      if (kind === 'watch') {
        socket.subscribe(presenceTopic(user));
        current.push({ user, status: statusOf(state, user) });
      } else socket.unsubscribe(presenceTopic(user));
    }
    // A new watcher learns where the watched users stand now, then follows their changes.
    if (current.length > 0) socket.send(frames.encodePresence(current));
  }

  private refuse(socket: Socket, error: unknown): void {
    this.metrics.error(error instanceof ChatError ? error.code : 'internal_error');
    if (!(error instanceof ChatError)) {
      this.logger.error({ err: error }, 'unexpected error handling a frame');
      socket.send(frames.encodeError('internal_error', 'the node failed to handle this frame'));
      return;
    }
    socket.send(frames.encodeError(error.code, error.message, error.cid));
  }

  drain(socket: Socket): void {
    // Live traffic needs nothing here: maxBackpressure with closeOnBackpressureLimit closes a reader too slow to
    // keep up, and it resumes with ?after=. A replay in progress continues where it paused.
    const data = socket.getUserData();
    if (data.cursor !== undefined && !data.closed) socket.cork(() => this.replay(socket, data));
  }

  close(socket: Socket, code: number, _reason: ArrayBuffer): void {
    const data = socket.getUserData();
    // uWS reports an oversized or invalid frame and a vanished client alike: 1006 with no reason. Closes the node
    // asked for (logout, shutdown, slow consumer) are marked closed before they happen.
    if (code === 1006 && !data.closed) this.metrics.abnormalClose();
    data.closed = true;
    this.sockets.delete(data.id);
    this.replaying.delete(socket);
    const mine = this.byUser.get(data.user);
    if (mine) {
      const rest = mine.filter((other) => other !== socket);
      if (rest.length > 0) this.byUser.set(data.user, rest);
      else this.byUser.delete(data.user);
    }
    this.logger.debug({ user: data.user, socket: data.id, code }, 'socket closed');
    this.runtime.send({ type: 'SOCKET_CLOSE', user: data.user, socket: data.id });
  }

  /** Delivers one committed domain event: the only place outbound traffic starts. */
  private deliver(event: DomainEvent): void {
    switch (event.type) {
      case 'GroupMessagePosted':
        this.logger.info({ id: event.id, from: event.from }, `${event.from}: ${event.text}`);
        this.publish(TOPIC_ALL, frames.encodeMessage(event));
        this.metrics.inGroup.inc();
        this.metrics.outGroup.inc(this.subscribers(TOPIC_ALL));
        return;
      case 'DirectMessagePosted': {
        this.logger.info({ id: event.id, from: event.from, to: event.to }, `${event.from} → ${event.to}: ${event.text}`);
        const frame = frames.encodeMessage(event);
        const delivered = this.sendToUser(event.to, frame) + (event.from !== event.to ? this.sendToUser(event.from, frame) : 0);
        this.metrics.inDirect.inc();
        this.metrics.outDirect.inc(delivered);
        return;
      }
      case 'PresenceChanged':
        this.welcome.changed(event.user);
        // A user who left needs no token bucket: the limiter's memory follows the users present.
        if (event.status === 'offline') this.limiter.forget(event.user);
        return this.presence.add(event.user, event.previous, event.status);
      case 'SessionEnded':
        return this.closeUser(event.user, CloseCode.LoggedOut, 'logged out');
      default:
        return;
    }
  }

  private publishPresence(changes: frames.PresenceChange[]): void {
    if (this.config.presence === 'all') {
      // Everyone follows presence in `all` mode: the frame goes on the topic live sockets already follow (one
      // subscription per socket, not two: each one more makes every publish dearer), and straight to the few
      // sockets still catching up, which join that topic only once caught up.
      const frame = frames.encodePresence(changes);
      this.publish(TOPIC_ALL, frame);
      for (const socket of this.replaying) socket.send(frame);
      return;
    }
    for (const change of changes) this.publish(presenceTopic(change.user), frames.encodePresence([change]));
  }

  /**
   * Sends a frame to each live socket of a user (not to one still replaying: the replay reads the message
   * from the history window). Direct sends instead of a topic per user: one topic subscription fewer
   * per socket makes every group publish about 10 % cheaper in uWS, and uWS drains a socket's pending
   * published messages before a direct send, so ids still arrive in order.
   */
  private sendToUser(user: string, frame: string): number {
    let sent = 0;
    for (const socket of this.byUser.get(user) ?? []) {
      const data = socket.getUserData();
      if (data.closed || data.cursor !== undefined) continue;
      socket.cork(() => socket.send(frame));
      sent++;
    }
    return sent;
  }

  private sendTo(id: number, frame: string): void {
    const socket = this.sockets.get(id);
    if (socket) socket.send(frame);
  }

  private closeSocket(socket: Socket, code: number, reason: string): void {
    const data = socket.getUserData();
    if (data.closed) return;
    data.closed = true;
    socket.end(code, reason);
  }

  closeUser(user: string, code: number, reason: string): void {
    for (const socket of [...(this.byUser.get(user) ?? [])]) this.closeSocket(socket, code, reason);
  }

  /**
   * Closes every socket whose send buffer passed CHAT_MAX_BACKPRESSURE, at once and discarding the buffer: the
   * client got a gap-free prefix of its stream and resumes with ?after=<last id>. Run every
   * SLOW_CONSUMER_CHECK_MS by the node; a check costs one native call per socket.
   */
  closeSlowConsumers(): void {
    const limit = this.config.limits.maxBackpressureBytes;
    for (const socket of this.sockets.values()) {
      if (socket.getBufferedAmount() <= limit) continue;
      const data = socket.getUserData();
      if (data.closed || data.cursor !== undefined) continue; // a replay paces itself and stays under the limit
      data.closed = true;
      this.metrics.slowConsumerClosed();
      this.logger.debug({ user: data.user, socket: data.id }, 'closed a slow consumer');
      socket.close();
    }
  }

  closeAll(code: number, reason: string): void {
    for (const socket of [...this.sockets.values()]) this.closeSocket(socket, code, reason);
  }

  flushPresence(): void {
    this.presence.flush();
  }

  stop(): void {
    this.presence.stop();
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

function parseAfter(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw new ChatError('invalid_query', '"after" must be a message id (a whole number)');
  return Number(raw);
}
