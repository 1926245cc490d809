/**
 * The client's one WebSocket to /ws, kept alive: reconnects with backoff, resumes with `?after=<last id
 * seen>`, drops messages it already delivered (by id), and says when the replay is done (ready).
 */
import WebSocket from 'ws';
import { type Backoff, formatDelay } from '../protocol/backoff.ts';
import { errorBodyOf, parseJsonObject } from '../protocol/json.ts';
import { networkReason } from './http.ts';
import type { ServerFrame } from '../protocol/wire.ts';
import { type ClientFrame, isMessageFrame, parseServerFrame } from './frames.ts';

/** Why the node ended this session for good: reconnecting with the same token is pointless. */
export type SessionEnd = 'logged_out' | 'session_revoked' | 'session_expired' | 'unauthorized';

export interface ConnectionHandlers {
  /** Every frame, messages already deduplicated; `resumedAfter` is set on a welcome that resumes. */
  frame(frame: ServerFrame, resumedAfter: number | undefined): void;
  /** Welcome and any replay have arrived: frames sent from now on reach this socket's session. */
  ready(): void;
  /** A human-readable note about the connection (lost, retrying). */
  notice(text: string): void;
  /** The node closed the session (close code 4001–4003, or 401 at the upgrade); no retry is scheduled. */
  ended(reason: SessionEnd, detail: string): void;
}

export interface ConnectionOptions {
  /** ws://host:port/ws, without query. */
  wsUrl: string;
  token(): string;
  backoff: Backoff;
  /** A connection up this long resets the backoff. */
  stableMs: number;
  /** Send a ping this often; a socket silent for two periods is dropped as dead. */
  keepaliveMs: number;
  handlers: ConnectionHandlers;
}

const CLOSE_ENDS: Record<number, SessionEnd> = { 4001: 'logged_out', 4002: 'session_revoked', 4003: 'session_expired' };
const CLOSE_WORDS: Record<number, string> = { 1000: 'closed', 1001: 'node shutting down', 1006: 'connection dropped', 1008: 'closed by the node for too many or invalid frames', 1011: 'node error', 1012: 'node lost the chat engine' };
const SEEN_LIMIT = 10_000;

export class Connection {
  private socket: WebSocket | undefined;
  private stopped = true;
  private ready = false;
  private readyWaiters: Array<() => void> = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private lastFrameAt = 0;
  /** Highest message id delivered: the resume point. Undefined until the first welcome. */
  private lastId: number | undefined;
  private readonly seen = new Set<number>();
  /** Ids at or below this were evicted from `seen` and count as delivered. */
  private seenFloor = 0;

  constructor(private readonly options: ConnectionOptions) {}

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    this.setReady(false);
    const socket = this.socket;
    this.socket = undefined;
    socket?.removeAllListeners();
    socket?.on('error', () => undefined); // a late error from a socket we no longer care about
    if (socket?.readyState === WebSocket.OPEN) socket.close(1000, 'client quit');
    else socket?.terminate();
  }

  get isReady(): boolean {
    return this.ready;
  }

  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Sends when a socket is open; false otherwise (the caller resends after the next `ready`). */
  send(frame: ClientFrame): boolean {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  private open(): void {
    const resumedAfter = this.lastId;
    const url = resumedAfter === undefined ? this.options.wsUrl : `${this.options.wsUrl}?after=${resumedAfter}`;
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${this.options.token()}` }, handshakeTimeout: 10_000 });
    this.socket = socket;
    let failure = '';
    let done = false;
    const finish = (drop: () => void): void => {
      if (done || this.socket !== socket) return;
      done = true;
      this.socket = undefined;
      this.clearTimers();
      this.setReady(false);
      if (!this.stopped) drop();
    };
    socket.on('open', () => this.opened());
    socket.on('message', (data: WebSocket.RawData) => this.received(data.toString(), resumedAfter));
    socket.on('error', (error: Error) => (failure = networkReason(error)));
    socket.on('unexpected-response', (request, response) => {
      const status = response.statusCode ?? 0;
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      // With this listener ws leaves the handshake to us: read the error body, then abort it.
      response.on('end', () => {
        finish(() => this.refused(status, body));
        request.destroy();
        socket.terminate();
      });
      response.on('error', (error: Error) => finish(() => this.retry(`upgrade answer broken: ${error.message}`)));
    });
    socket.on('close', (code: number, reason: Buffer) => finish(() => this.closed(code, reason.toString(), failure)));
  }

  private opened(): void {
    this.lastFrameAt = Date.now();
    this.stableTimer = setTimeout(() => this.options.backoff.reset(), this.options.stableMs);
    this.keepaliveTimer = setInterval(() => this.keepalive(), this.options.keepaliveMs);
  }

  private keepalive(): void {
    if (Date.now() - this.lastFrameAt > 2 * this.options.keepaliveMs) {
      this.socket?.terminate(); // silent too long: the 'close' handler reconnects
      return;
    }
    this.send({ type: 'ping' });
  }

  private received(raw: string, resumedAfter: number | undefined): void {
    this.lastFrameAt = Date.now();
    const frame = parseServerFrame(raw);
    if (!frame) return;
    if (frame.type === 'welcome') {
      if (this.lastId === undefined) this.lastId = frame.seq;
      // Frames on one socket arrive in order: the answer to this ping comes after the whole replay.
      this.send({ type: 'ping' });
    } else if (frame.type === 'pong' && !this.ready) {
      this.setReady(true);
      return;
    } else if (isMessageFrame(frame) && !this.firstSight(frame.id)) {
      return;
    }
    this.options.handlers.frame(frame, resumedAfter);
  }

  /** True the first time an id is seen; records it and advances the resume point. */
  private firstSight(id: number): boolean {
    if (id <= this.seenFloor || this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > SEEN_LIMIT) {
      // Ids arrive in increasing order, so the first inserted is the oldest.
      const oldest = this.seen.values().next().value ?? 0;
      this.seen.delete(oldest);
      this.seenFloor = Math.max(this.seenFloor, oldest);
    }
    this.lastId = Math.max(this.lastId ?? 0, id);
    return true;
  }

  private setReady(ready: boolean): void {
    this.ready = ready;
    if (!ready) return;
    this.options.handlers.ready();
    for (const waiter of this.readyWaiters.splice(0)) waiter();
  }

  private closed(code: number, reason: string, failure: string): void {
    const end = CLOSE_ENDS[code];
    if (end) {
      this.stopped = true;
      this.options.handlers.ended(end, reason || end.replace('_', ' '));
      return;
    }
    if (failure && code === 1006) {
      this.retry(`cannot reach ${this.options.wsUrl}: ${failure}`);
      return;
    }
    const words = CLOSE_WORDS[code] ?? 'closed';
    this.retry(`connection lost (${code} ${reason || words})`);
  }

  private refused(status: number, body: string): void {
    const error = readError(body);
    if (status === 401) {
      this.stopped = true;
      const end: SessionEnd = error.code === 'session_revoked' || error.code === 'session_expired' ? error.code : 'unauthorized';
      this.options.handlers.ended(end, error.message || `the node refused the session (${status})`);
      return;
    }
    this.retry(`the node refused the connection (${status} ${error.code}: ${error.message})`);
  }

  private retry(why: string): void {
    const delay = this.options.backoff.next();
    this.options.handlers.notice(`* ${why}; reconnecting in ${formatDelay(delay)}`);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) this.open();
    }, delay);
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.stableTimer);
    clearInterval(this.keepaliveTimer);
  }
}

function readError(body: string): { code: string; message: string } {
  // Not our JSON error body (a proxy page, say): show its start.
  if (!parseJsonObject(body).ok) return { code: 'refused', message: body.slice(0, 120) };
  const detail = errorBodyOf(body);
  return { code: detail.code ?? 'refused', message: detail.message ?? '' };
}
