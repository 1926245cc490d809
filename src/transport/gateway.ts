/**
 * @module transport/gateway
 * The node's client sockets, assembled: admission (who may connect), replay (welcome and
 * resume), incoming frames (→ supervisor commands), delivery (committed events → frames) and
 * the close policy, over one registry of sockets. Implements uWS's WebSocket callbacks for
 * `/ws` directly; other kinds of client socket (Socket.IO) join through `open`, `frame` and
 * `close` with an object of the same shape.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Sessions } from '../auth/sessions.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { ClientFrame } from '../protocol/client-frames.ts';
import type { Metrics } from '../metrics.ts';
import { Admission } from './admission.ts';
import type { Acknowledge, ClientSocket, Fanout, SocketData } from './client-socket.ts';
import { ClosePolicy } from './close-policy.ts';
import { CloseCode } from './close-codes.ts';
import { Delivery } from './delivery.ts';
import { FrameBudget } from './frame-budget.ts';
import { ExpiryWheel } from './expiry-wheel.ts';
import { isMessageEvent } from '../domain/events.ts';
import { nameKey } from '../domain/names.ts';
import { sessionRefused } from '../domain/state.ts';
import type { AddressLimits } from '../http/address-limits.ts';
import { IncomingFrames } from './incoming.ts';
import { Replay } from './replay.ts';
import { SocketRegistry } from './sockets.ts';
import type { HttpRequestInfo, SocketHandlers, UpgradeResult } from './types.ts';

export { TOPIC_ALL, presenceTopic, type SocketData } from './client-socket.ts';

export class Gateway implements SocketHandlers<SocketData> {
  readonly sockets = new SocketRegistry();
  readonly admission: Admission;
  private readonly replay: Replay;
  private readonly incoming: IncomingFrames;
  private readonly delivery: Delivery;
  private readonly closing: ClosePolicy;
  private readonly budget: FrameBudget;
  private readonly expiry: ExpiryWheel<ClientSocket>;

  constructor(
    config: Readonly<Config>,
    private readonly runtime: Runtime,
    sessions: Sessions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    addressLimits?: AddressLimits,
  ) {
    this.expiry = new ExpiryWheel((socket) => this.closing.closeSocket(socket, CloseCode.SessionExpired, 'session expired'));
    // Before anything else hears of a message: sockets whose session ended by now are closed first, so they never get it.
    runtime.on('committed', ({ event }) => isMessageEvent(event) && this.expiry.sweep());
    this.budget = new FrameBudget(config.limits);
    this.admission = new Admission(config, runtime, sessions, this.sockets, metrics, this.budget, addressLimits);
    this.replay = new Replay(config, runtime, this.sockets);
    this.incoming = new IncomingFrames(config, runtime, this.sockets, logger, metrics);
    this.closing = new ClosePolicy(config, this.sockets, logger, metrics);
    const loggedOut = (user: string, reason: 'logout' | 'revoked'): void =>
      reason === 'revoked' ? this.closing.closeUser(user, CloseCode.SessionRevoked, 'session revoked') : this.closing.closeUser(user, CloseCode.LoggedOut, 'logged out');
    this.delivery = new Delivery(config, runtime, this.sockets, this.replay.welcome, this.incoming.limiter, logger, metrics, loggedOut);
    // The supervisor refuses to open a socket whose session was revoked after admission (an upgrade that awaited
    // the session check, then a logout of that session elsewhere): after the error frame, close code 4002.
    // A name bound to an OIDC identity: its sockets whose session is now refused (dev sessions, any case) close with 4002.
    runtime.on('committed', ({ event }) => event.type === 'IdentityBound' && this.closeRefused(event.user));
    // Several nodes: a socket whose attachment the log could not take (engine unreachable) is closed with 1012, to reconnect.
    runtime.on('rejected', ({ socket, code }) => {
      const refused = code === 'session_revoked' || code === 'unavailable' ? this.sockets.get(socket) : undefined;
      if (!refused || refused.getUserData().greeted) return;
      refused.getUserData().opened = false;
      if (code === 'session_revoked') this.closing.closeSocket(refused, CloseCode.SessionRevoked, 'session revoked');
      else this.closing.closeSocket(refused, CloseCode.ServiceRestart, 'the chat engine is unreachable; reconnect');
    });
  }

  /** Closes (4002) the sockets of every spelling of `user` whose session the state now refuses. O(users with sockets), once per binding. */
  private closeRefused(user: string): void {
    const key = nameKey(user);
    for (const name of [...this.sockets.users()]) {
      if (nameKey(name) !== key) continue;
      for (const socket of [...this.sockets.ofUser(name)]) {
        if (sessionRefused(this.runtime.state, socket.getUserData())) this.closing.closeSocket(socket, CloseCode.SessionRevoked, 'session revoked');
      }
    }
  }

  /** Connects the gateway to the running server; `port` is the one actually listened on. */
  attach(server: Fanout & { port: number }): void {
    this.admission.listening(server.port);
    this.delivery.addFanout(server);
  }

  /** Another transport's topics (Socket.IO): every publish goes to it too. */
  addFanout(fanout: Fanout): void {
    this.delivery.addFanout(fanout);
  }

  get connections(): number {
    return this.sockets.size;
  }

  upgrade(request: HttpRequestInfo): UpgradeResult<SocketData> | Promise<UpgradeResult<SocketData>> {
    return this.admission.upgrade(request);
  }

  open(socket: ClientSocket): void {
    const data = socket.getUserData();
    this.sockets.add(socket);
    this.expiry.add(socket, data.exp);
    data.opened = true;
    const join = { user: data.user, sid: data.sid, socket: data.id, issuedAt: data.issuedAt, identity: data.identity, after: data.after };
    // Refused instead (the session was revoked after admission checked it): closed with 4002 by the `rejected` handler.
    this.runtime.join(join, () => {
      if (data.closed) return;
      data.greeted = true;
      socket.cork(() => this.replay.greet(socket, data));
    });
  }

  message(socket: ClientSocket, message: ArrayBuffer, isBinary: boolean): void {
    if (!this.admitFrame(socket)) return;
    let frame: ClientFrame;
    try {
      frame = this.incoming.parse(message, isBinary);
    } catch (error) {
      return this.refuse(socket, error);
    }
    this.incoming.handle(socket, frame);
  }

  /** A frame its transport already parsed; the outcome goes to `acknowledge` when given. */
  frame(socket: ClientSocket, frame: ClientFrame, acknowledge?: Acknowledge): void {
    if (this.admitFrame(socket)) this.incoming.handle(socket, frame, acknowledge);
  }

  /** Answers a frame its transport could not parse, or closes a socket that sent too many (1008). */
  refuse(socket: ClientSocket, error: unknown, acknowledge?: Acknowledge): void {
    if (!this.budget.takeInvalid(socket.getUserData())) return this.closing.closeForPolicy(socket, 'invalid_frames');
    this.incoming.refuse(socket, error, acknowledge);
  }

  /** Every frame counts against the socket's budget (frame-budget.ts); false when the frame must not be handled. */
  private admitFrame(socket: ClientSocket): boolean {
    const data = socket.getUserData();
    if (data.closed) return false; // frames read before a close the node asked for
    if (!this.budget.takeFrame(data)) {
      this.closing.closeForPolicy(socket, 'frame_budget');
      return false;
    }
    return !this.closing.closeIfExpired(socket);
  }

  drain(socket: ClientSocket): void {
    // Live traffic needs nothing here: the close policy closes a reader too slow to keep up, and it resumes
    // with ?after=. A replay in progress continues where it paused.
    this.replay.resume(socket);
  }

  close(socket: ClientSocket, code: number, _reason?: ArrayBuffer): void {
    const data = socket.getUserData();
    // uWS reports an oversized or invalid frame and a vanished client alike: 1006 with no reason. Closes the node
    // asked for (logout, shutdown, slow consumer) are marked closed before they happen.
    if (code === 1006 && !data.closed) this.metrics.abnormalClose();
    data.closed = true;
    this.sockets.remove(socket);
    this.expiry.remove(socket, data.exp);
    this.logger.debug({ user: data.user, socket: data.id, code }, 'socket closed');
    if (data.opened) this.runtime.leave(data.user, data.id);
  }

  closeUser(user: string, code: number, reason: string): void {
    this.closing.closeUser(user, code, reason);
  }

  /** Closes (4003) the sockets whose session has ended; the node runs it every SWEEP_MS (expiry-wheel.ts). */
  closeExpired(): void {
    this.expiry.sweep();
  }

  closeSlowConsumers(): void {
    this.closing.closeSlowConsumers((socket) => this.replay.resume(socket));
  }

  closeAll(code: number, reason: string): void {
    this.closing.closeAll(code, reason);
  }

  flushPresence(): void {
    this.delivery.presence.flush();
  }

  stop(): void {
    this.delivery.presence.stop();
  }
}
