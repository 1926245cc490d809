/**
 * @module transport/replay
 * A socket's first frames: the welcome, then on resume (`after`) the messages it missed, paced
 * by its send buffer, then live traffic. Message topics are joined only once the socket is
 * caught up, so live traffic never overtakes the replay.
 */
import type { Config } from '../config.ts';
import { isVisibleTo } from '../domain/events.ts';
import type { Runtime } from '../runtime/runtime.ts';
import * as frames from '../protocol/server-frames.ts';
import { WelcomeEncoder } from '../protocol/welcome.ts';
import { TOPIC_ALL, type ClientSocket, type SocketData } from './client-socket.ts';
import type { SocketRegistry } from './sockets.ts';
import { replayDrained, replayPaused } from './slow-consumers.ts';

/** Messages read from the history window per step of a replay. */
const REPLAY_PAGE = 256;

export class Replay {
  readonly welcome: WelcomeEncoder;

  constructor(
    private readonly config: Readonly<Config>,
    private readonly runtime: Runtime,
    private readonly sockets: SocketRegistry,
  ) {
    this.welcome = new WelcomeEncoder(config.welcomeUsers);
  }

  greet(socket: ClientSocket, data: SocketData): void {
    const state = this.runtime.state;
    const last = this.runtime.lastId;
    const { oldest } = this.runtime.history(last, 0);
    socket.send(this.welcome.encode(state, data.user, last, oldest));
    if (data.after === undefined || data.after >= last) return this.goLive(socket, data);
    data.cursor = data.after;
    this.sockets.replaying.add(socket);
    this.replay(socket, data);
  }

  /** Continues a paused replay (the socket's send buffer drained). */
  resume(socket: ClientSocket): void {
    const data = socket.getUserData();
    replayDrained(data);
    if (data.cursor !== undefined && !data.closed) socket.cork(() => this.replay(socket, data));
  }

  /** Continues a paused replay if its send buffer has room again (for sockets with no drain callback). */
  resumeIfRoom(socket: ClientSocket): void {
    if (socket.getBufferedAmount() <= this.config.limits.maxBackpressureBytes / 2) this.resume(socket);
  }

  private goLive(socket: ClientSocket, data: SocketData): void {
    data.cursor = undefined;
    this.sockets.replaying.delete(socket);
    socket.subscribe(TOPIC_ALL);
  }

  /**
   * Sends missed messages in pages while the socket's send buffer has room, resuming on `drain`;
   * joins live traffic in the same turn as it sends the last one. A replay larger than maxBackpressure
   * therefore completes instead of getting the reader closed as a slow consumer.
   */
  private replay(socket: ClientSocket, data: SocketData): void {
    const room = this.config.limits.maxBackpressureBytes / 2;
    while (!data.closed && data.cursor !== undefined) {
      const page = this.runtime.history(data.cursor, REPLAY_PAGE);
      // Messages after the cursor that the window cannot serve: it let them go, or (several nodes) the log lost them.
      const next = page.messages[0]?.id;
      if (next === undefined ? data.cursor < this.runtime.lastId : next > data.cursor + 1) {
        socket.send(frames.encodeHistoryGap(data.cursor, next ?? page.oldest));
      }
      for (const message of page.messages) {
        data.cursor = message.id;
        if (!isVisibleTo(message, data.user)) continue;
        socket.send(frames.encodeMessage(message));
        if (socket.getBufferedAmount() > room) return replayPaused(data, Date.now()); // resume() continues from the cursor
      }
      if (page.messages.length < REPLAY_PAGE) return this.goLive(socket, data);
    }
  }
}
