/**
 * @module transport/incoming
 * Client frames → supervisor commands. The sender is always the socket's user, never a field of
 * the frame. A refusal goes back to the one socket: as an `error` frame, or to the request's
 * acknowledgement when the client gave one (Socket.IO).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { ChatError } from '../domain/errors.ts';
import { listUsers, statusOf } from '../domain/state.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { parseClientFrame, type ClientFrame, type FrameLimits } from '../protocol/client-frames.ts';
import * as frames from '../protocol/server-frames.ts';
import { answerHistory } from '../protocol/history.ts';
import type { Metrics } from '../metrics.ts';
import type { Acknowledge, ClientSocket } from './client-socket.ts';
import { applyWatch } from './watches.ts';
import type { SocketRegistry } from './sockets.ts';
import { RateLimiter } from './rate-limit.ts';

const decoder = new TextDecoder('utf-8', { fatal: true });

export class IncomingFrames {
  readonly limiter: RateLimiter;
  private readonly frameLimits: FrameLimits;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly runtime: Runtime,
    private readonly sockets: SocketRegistry,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.frameLimits = { maxTextLength: config.limits.maxTextLength, pageSize: config.pageSize };
    this.limiter = new RateLimiter(config.limits.messagesPerSecond, config.limits.messageBurst);
    // Refusals of posts that asked for no acknowledgement (and of sockets): an error frame to that one socket.
    runtime.on('rejected', ({ socket, code, message, cid }) => {
      metrics.error(code);
      this.sockets.get(socket)?.send(frames.encodeError(code, message, cid));
    });
  }

  /** A `/ws` frame: UTF-8 JSON text. Throws a ChatError (`invalid_frame`, …) for one the node refuses. */
  parse(message: ArrayBuffer, isBinary: boolean): ClientFrame {
    if (isBinary) throw new ChatError('invalid_frame', 'frames are UTF-8 JSON text, not binary');
    return parseClientFrame(decoder.decode(message), this.frameLimits);
  }

  /** A frame already parsed (and validated) by its transport. */
  handle(socket: ClientSocket, frame: ClientFrame, acknowledge?: Acknowledge): void {
    const data = socket.getUserData();
    switch (frame.type) {
      case 'message':
      case 'direct': {
        if (!this.limiter.take(data.user)) {
          this.refuse(socket, new ChatError('rate_limited', 'slow down: too many messages', frame.cid === undefined ? undefined : { cid: frame.cid }), acknowledge);
          return;
        }
        const command =
          frame.type === 'message'
            ? ({ type: 'POST_GROUP', from: data.user, text: frame.text, cid: frame.cid, socket: data.id } as const)
            : ({ type: 'POST_DIRECT', from: data.user, to: frame.to, text: frame.text, cid: frame.cid, socket: data.id } as const);
        if (!acknowledge) return this.runtime.post(command);
        this.runtime.post(command, (outcome) => {
          if (!outcome.ok) this.metrics.error(outcome.code);
          acknowledge(outcome);
        });
        return;
      }
      case 'list-users': {
        const page = listUsers(this.runtime.state, frame.after, frame.limit ?? this.config.pageSize);
        if (acknowledge) acknowledge({ ok: true, ...page });
        else socket.send(frames.encodeUsers(page));
        return;
      }
      case 'watch':
      case 'unwatch':
        this.watch(socket, frame.type, frame.users, acknowledge);
        return;
      case 'history': {
        const answer = answerHistory(this.runtime, data.user, frame);
        if (!acknowledge) return void socket.send(JSON.stringify(answer));
        const { type: _type, ...rest } = answer;
        acknowledge({ ok: true, ...rest });
        return;
      }
      case 'ping':
        socket.send('{"type":"pong"}');
        return;
    }
  }

  private watch(socket: ClientSocket, kind: 'watch' | 'unwatch', users: string[], acknowledge?: Acknowledge): void {
    // In `all` mode every socket already sees every change.
    if (this.config.presence !== 'watch') return acknowledge?.({ ok: true });
    const state = this.runtime.state;
    try {
      const current = applyWatch(socket, kind, users, this.config.limits.maxWatches, (user) => statusOf(state, user));
      // A new watcher learns where the watched users stand now, then follows their changes.
      if (current.length > 0) socket.send(frames.encodePresence(current));
    } catch (error) {
      return this.refuse(socket, error, acknowledge);
    }
    acknowledge?.({ ok: true });
  }

  refuse(socket: ClientSocket, error: unknown, acknowledge?: Acknowledge): void {
    this.metrics.error(error instanceof ChatError ? error.code : 'internal_error');
    if (!(error instanceof ChatError)) {
      this.logger.error({ err: error }, 'unexpected error handling a frame');
      const message = 'the node failed to handle this frame';
      if (acknowledge) acknowledge({ ok: false, code: 'internal_error', message });
      else socket.send(frames.encodeError('internal_error', message));
      return;
    }
    if (acknowledge) acknowledge({ ok: false, code: error.code, message: error.message });
    else socket.send(frames.encodeError(error.code, error.message, error.cid));
  }
}
