/**
 * One WebSocket to /ws that keeps itself alive: reconnects with exponential backoff and jitter,
 * asks the page for the URL on every attempt (so the resume point `after=` is always current) and
 * reports its state for the UI. It knows nothing about chat frames beyond JSON text.
 */
import { Backoff } from '../../src/protocol/backoff.ts';

/** 0.25–0.5 s for the first retry, doubling up to 15–30 s; never instant. */
const RECONNECT = { minMs: 500, maxMs: 30_000, jitter: 'equal' } as const;

export type ConnState =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'open' }
  | { kind: 'waiting'; attempt: number; retryAt: number }
  | { kind: 'stopped' };

export interface DropInfo {
  /** Whether the socket had opened (false: the upgrade failed or the network is down). */
  opened: boolean;
  code: number;
  reason: string;
}

export interface ConnectionOptions {
  url(): string;
  onFrame(raw: string): void;
  onState(state: ConnState): void;
  /** Decides what a drop means: 'retry' (backoff) or 'stop' (e.g. the session ended). */
  onDrop(info: DropInfo): Promise<'retry' | 'stop'>;
}

export class Connection {
  private ws: WebSocket | undefined;
  private readonly backoff = new Backoff(RECONNECT);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  state: ConnState = { kind: 'stopped' };

  constructor(private readonly opts: ConnectionOptions) {}

  start(): void {
    this.stopped = false;
    this.backoff.reset();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.detach()?.close(1000, 'client stop');
    this.setState({ kind: 'stopped' });
  }

  /** The server accepted us (welcome arrived): the next drop starts the backoff from scratch. */
  markHealthy(): void {
    this.backoff.reset();
  }

  send(frame: unknown): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Skips the wait (user pressed "Retry now", or the network came back). */
  retryNow(): void {
    if (this.stopped || this.state.kind !== 'waiting') return;
    clearTimeout(this.timer);
    this.connect();
  }

  /** Drops a socket that may be dead without knowing it (after sleep) and reconnects at once. */
  restart(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.detach()?.close(4000, 'client restart');
    this.connect();
  }

  /** Gives up on the current socket as if it had closed (the browser just said the network is gone). */
  drop(reason: string): void {
    const ws = this.detach();
    if (this.stopped || !ws) return;
    ws.close(4000, reason);
    void this.handleDrop({ opened: true, code: 4000, reason });
  }

  private setState(state: ConnState): void {
    this.state = state;
    this.opts.onState(state);
  }

  private detach(): WebSocket | undefined {
    const ws = this.ws;
    if (!ws) return undefined;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    this.ws = undefined;
    return ws;
  }

  private connect(): void {
    this.setState({ kind: 'connecting', attempt: this.backoff.attempts });
    const ws = new WebSocket(new URL(this.opts.url(), location.href).href.replace(/^http/, 'ws'));
    let opened = false;
    this.ws = ws;
    ws.onopen = () => {
      opened = true;
      this.setState({ kind: 'open' });
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (typeof ev.data === 'string') this.opts.onFrame(ev.data);
    };
    ws.onclose = (ev: CloseEvent) => {
      this.detach();
      void this.handleDrop({ opened, code: ev.code, reason: ev.reason });
    };
  }

  private async handleDrop(info: DropInfo): Promise<void> {
    if (this.stopped) return;
    const decision = await this.opts.onDrop(info);
    if (this.stopped) return;
    if (decision === 'stop') {
      this.stop();
      return;
    }
    const delay = this.backoff.next();
    this.setState({ kind: 'waiting', attempt: this.backoff.attempts, retryAt: Date.now() + delay });
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
