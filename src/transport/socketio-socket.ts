/**
 * @module transport/socketio-socket
 * A Socket.IO connection as a client socket of the gateway, and Socket.IO's side of delivery.
 * A `/ws` frame becomes a Socket.IO event by rewriting its text once (`{"type":"receive",…}` →
 * `2["receive",{…}]`), never by decoding it again. WebSocket-transport connections follow a topic
 * through the uWS topic socket.io's own uWS adapter subscribes them to (one native publish for all
 * of them); only connections still on HTTP long-polling are written to one by one.
 */
import type { Socket } from 'socket.io';
import type { ClientSocket, Fanout, SocketData } from './client-socket.ts';
import { CloseCode } from './close-codes.ts';
import type { RawApp } from './types.ts';

/** socket.io's uWS adapter names a room's topic `<namespace>\x1f<room>` (socket.io/dist/uws.js). */
const roomTopic = (topic: string): string => `/\x1f${topic}`;
/** Engine.IO packet type "message" in front of a Socket.IO packet, as socket.io's fast publish writes it. */
const ENGINE_MESSAGE = '4';
const TYPE_PREFIX = '{"type":"';

/**
 * The Socket.IO EVENT packet (default namespace) for a `/ws` frame: the event is the frame's type (`error`
 * becomes `chat-error`), the argument the frame without its type. Every server frame is a JSON object whose
 * first member is `type` (protocol/server-frames.ts, protocol/welcome.ts).
 */
export function eventPacket(frame: string): string {
  if (!frame.startsWith(TYPE_PREFIX)) throw new Error(`not a server frame: ${frame.slice(0, 40)}`);
  const end = frame.indexOf('"', TYPE_PREFIX.length);
  const type = frame.slice(TYPE_PREFIX.length, end);
  const rest = frame.slice(end + 1); // `}` or `,"id":…}`
  return `2["${type === 'error' ? 'chat-error' : type}",${rest === '}' ? '{}' : `{${rest.slice(1)}`}]`;
}

interface EngineSocket {
  readonly transport: { readonly name: string; readonly socket?: { getBufferedAmount(): number } };
  readonly writeBuffer: Array<{ data?: unknown }>;
  write(data: string): unknown;
  close(discard?: boolean): unknown;
}

export class SocketIoSocket implements ClientSocket {
  /** Topics followed while on long-polling (empty once upgraded to WebSocket). */
  readonly pollingTopics = new Set<string>();

  constructor(
    readonly socket: Socket,
    private readonly data: SocketData,
    private readonly fanout: SocketIoFanout,
  ) {}

  get engine(): EngineSocket {
    return this.socket.conn as unknown as EngineSocket;
  }

  get onWebSocket(): boolean {
    return this.engine.transport.name === 'websocket';
  }

  getUserData(): SocketData {
    return this.data;
  }

  send(frame: string): number {
    this.engine.write(eventPacket(frame));
    return 1;
  }

  /**
   * Closes meaning "do not reconnect with this session" (logout, revoked or expired session: 4xxx; policy: 1008)
   * end the Socket.IO session, which a client does not retry (`io server disconnect`); the others (shutdown, a
   * failed node) drop only the connection, and the client reconnects by itself (`transport close`).
   */
  end(code: number): void {
    if (code >= 4000 || code === CloseCode.PolicyViolation) this.socket.disconnect(true);
    else this.engine.close();
  }

  /** Slow consumer: drops the connection and what is still buffered; the client reconnects and resumes. */
  close(): void {
    this.engine.close(true);
  }

  subscribe(topic: string): boolean {
    this.socket.join(topic); // on WebSocket (now or after the upgrade) socket.io subscribes the uWS socket to the room's topic
    if (!this.onWebSocket) this.fanout.follow(this, topic);
    return true;
  }

  unsubscribe(topic: string): boolean {
    this.socket.leave(topic);
    this.fanout.unfollow(this, topic);
    return true;
  }

  isSubscribed(topic: string): boolean {
    return this.socket.rooms.has(topic);
  }

  getBufferedAmount(): number {
    const engine = this.engine;
    const websocket = engine.transport.socket;
    if (engine.transport.name === 'websocket' && websocket) return websocket.getBufferedAmount();
    let bytes = 0;
    for (const packet of engine.writeBuffer) if (typeof packet.data === 'string') bytes += packet.data.length;
    return bytes;
  }

  cork(callback: () => void): void {
    callback();
  }
}

/** Socket.IO's fan-out: one native publish for WebSocket-transport connections, a write per polling one. */
export class SocketIoFanout implements Fanout {
  private readonly polling = new Map<string, Set<SocketIoSocket>>();

  constructor(private readonly app: RawApp) {}

  publish(topic: string, frame: string): void {
    const packet = eventPacket(frame);
    this.app.publish(roomTopic(topic), ENGINE_MESSAGE + packet, false, false);
    const members = this.polling.get(topic);
    if (members) for (const member of members) member.engine.write(packet);
  }

  subscribers(topic: string): number {
    return this.app.numSubscribers(roomTopic(topic)) + (this.polling.get(topic)?.size ?? 0);
  }

  follow(socket: SocketIoSocket, topic: string): void {
    let members = this.polling.get(topic);
    if (!members) this.polling.set(topic, (members = new Set()));
    members.add(socket);
    socket.pollingTopics.add(topic);
  }

  unfollow(socket: SocketIoSocket, topic: string): void {
    const members = this.polling.get(topic);
    if (members?.delete(socket) && members.size === 0) this.polling.delete(topic);
    socket.pollingTopics.delete(topic);
  }

  /** Upgraded to WebSocket (socket.io subscribed it to its rooms' topics) or gone: no more polling writes. */
  forget(socket: SocketIoSocket): void {
    for (const topic of [...socket.pollingTopics]) this.unfollow(socket, topic);
  }
}
