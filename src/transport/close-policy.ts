/**
 * @module transport/close-policy
 * When the node closes a socket itself: the session expired, the user logged out, the reader is
 * too slow, the node shuts down. A socket is marked closed before it closes, so its close
 * callback can tell the node's closes from a vanished client.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import type { ClientSocket } from './client-socket.ts';
import { CloseCode } from './close-codes.ts';
import type { SocketRegistry } from './sockets.ts';
import { isSlowConsumer } from './slow-consumers.ts';

export class ClosePolicy {
  constructor(
    private readonly config: Readonly<Config>,
    private readonly sockets: SocketRegistry,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {}

  /** Closes a socket whose session has expired (checked on each frame); true when it did. */
  closeIfExpired(socket: ClientSocket): boolean {
    if (socket.getUserData().exp * 1000 > Date.now()) return false;
    this.closeSocket(socket, CloseCode.SessionExpired, 'session expired');
    return true;
  }

  closeSocket(socket: ClientSocket, code: number, reason: string): void {
    const data = socket.getUserData();
    if (data.closed) return;
    data.closed = true;
    socket.end(code, reason);
  }

  closeUser(user: string, code: number, reason: string): void {
    for (const socket of [...this.sockets.ofUser(user)]) this.closeSocket(socket, code, reason);
  }

  /**
   * Closes every slow consumer (slow-consumers.ts: a send buffer past CHAT_MAX_BACKPRESSURE, or a replay stalled for
   * CHAT_REPLAY_STALL_MS), at once and discarding the buffer: the client got a gap-free prefix of its stream and
   * resumes with ?after=<last id>. Run every
   * SLOW_CONSUMER_CHECK_MS by the node; a check costs one native call per socket.
   */
  closeSlowConsumers(resumeReplay: (socket: ClientSocket) => void): void {
    const now = Date.now();
    const room = this.config.limits.maxBackpressureBytes / 2;
    let largest = 0;
    for (const socket of this.sockets.all()) {
      const buffered = socket.getBufferedAmount();
      largest = Math.max(largest, buffered);
      const data = socket.getUserData();
      if (data.closed) continue;
      // uWS calls drain only while it holds data the kernel refused: when the kernel took it all, the replay goes on here.
      if (data.cursor !== undefined && buffered <= room) resumeReplay(socket);
      else if (isSlowConsumer(data, buffered, now, this.config.limits)) {
        data.closed = true;
        this.metrics.slowConsumerClosed();
        this.logger.debug({ user: data.user, socket: data.id }, 'closed a slow consumer');
        socket.close();
      }
    }
    this.metrics.sendBufferPeak(largest);
  }

  /** Closes a socket that broke its frame budget with 1008, counted by reason. */
  closeForPolicy(socket: ClientSocket, reason: 'frame_budget' | 'invalid_frames'): void {
    const data = socket.getUserData();
    this.metrics.policyClosed(reason);
    this.logger.debug({ user: data.user, socket: data.id, reason }, 'closed a socket for policy (1008)');
    this.closeSocket(socket, CloseCode.PolicyViolation, reason === 'frame_budget' ? 'too many frames: slow down' : 'too many invalid frames');
  }

  closeAll(code: number, reason: string): void {
    for (const socket of [...this.sockets.all()]) this.closeSocket(socket, code, reason);
  }
}
