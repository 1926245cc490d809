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
   * Closes every socket whose send buffer passed CHAT_MAX_BACKPRESSURE, at once and discarding the buffer: the
   * client got a gap-free prefix of its stream and resumes with ?after=<last id>. Run every
   * SLOW_CONSUMER_CHECK_MS by the node; a check costs one native call per socket.
   */
  closeSlowConsumers(): void {
    const limit = this.config.limits.maxBackpressureBytes;
    for (const socket of this.sockets.all()) {
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
    for (const socket of [...this.sockets.all()]) this.closeSocket(socket, code, reason);
  }
}
