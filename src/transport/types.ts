/**
 * @module transport/types
 * Our own small types for HTTP and WebSocket, so that only transport/uws.ts imports
 * uWebSockets.js. `ChatSocket` is a structural subset of uWS's WebSocket: the real socket is
 * passed through as is, with no wrapper object per connection.
 */

export interface HttpRequestInfo {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Path parameters, URL-decoded. */
  params: string[];
  remoteAddress: string;
}

export interface HttpReply {
  status: number;
  headers?: Record<string, string | string[]>;
  body?: string | Uint8Array;
}

export type HttpHandler = (request: HttpRequestInfo, body: Buffer | undefined) => HttpReply | Promise<HttpReply>;

export interface Route {
  method: 'get' | 'post' | 'any';
  pattern: string;
  handler: HttpHandler;
  /** Read a request body of at most this many bytes (POST routes). */
  maxBodyBytes?: number;
}

/** uWS `send` result: 1 sent, 0 buffered under backpressure, 2 dropped for exceeding the limit. */
export type SendResult = number;

export interface ChatSocket<D> {
  send(message: string, isBinary?: boolean, compress?: boolean): SendResult;
  end(code?: number, shortMessage?: string): void;
  /** Closes at once, discarding what is still buffered. */
  close(): void;
  subscribe(topic: string): boolean;
  /** True when the socket was subscribed. */
  unsubscribe(topic: string): boolean;
  isSubscribed(topic: string): boolean;
  getUserData(): D;
  getBufferedAmount(): number;
  cork(cb: () => void): unknown;
}

export type UpgradeResult<D> = { ok: true; data: D } | { ok: false; reply: HttpReply };

export interface SocketHandlers<D> {
  upgrade(request: HttpRequestInfo): UpgradeResult<D> | Promise<UpgradeResult<D>>;
  open(socket: ChatSocket<D>): void;
  message(socket: ChatSocket<D>, message: ArrayBuffer, isBinary: boolean): void;
  drain(socket: ChatSocket<D>): void;
  close(socket: ChatSocket<D>, code: number, reason: ArrayBuffer): void;
}

export interface SocketLimits {
  maxPayloadBytes: number;
  maxBackpressureBytes: number;
  idleTimeoutSeconds: number;
}

/**
 * The uWebSockets.js app as another library sees it (Socket.IO's `attachApp` takes it whole): only its
 * topics are named here, so that library's module need not import uWebSockets.js.
 */
export interface RawApp {
  publish(topic: string, message: string, isBinary?: boolean, compress?: boolean): boolean;
  numSubscribers(topic: string): number;
}

export interface ServerOptions<D> {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  routes: Route[];
  socketPath: string;
  sockets: SocketHandlers<D>;
  limits: SocketLimits;
  /** Mounts another library's routes on the same app (Socket.IO at /socket.io/), before the HTTP routes. */
  attachApp?: (app: RawApp) => void;
  /** Called when a handler throws: the reply is a 500 with a stable code, the node goes on. */
  onHandlerError(error: unknown, request: HttpRequestInfo): void;
  /** Called when a WebSocket handler throws: the socket is closed, the node goes on. */
  onSocketError(error: unknown): void;
}

export interface RunningServer {
  port: number;
  publish(topic: string, message: string): boolean;
  subscribers(topic: string): number;
  /** Stops listening; open sockets are closed by their owner. */
  stopListening(): void;
}
