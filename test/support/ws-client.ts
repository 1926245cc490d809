/**
 * A WebSocket test client on `ws`: buffers every frame, awaits the next frame matching a
 * predicate, and offers `sync()` — a ping/pong round trip that proves every frame the
 * server sent before it has arrived (frames on one socket are ordered), so a test can
 * assert that something was NOT sent without sleeping.
 */
import WebSocket from 'ws';

export type Frame = Record<string, unknown> & { type: string };

interface Waiter {
  match: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

export class TestClient {
  readonly frames: Frame[] = [];
  private cursor = 0;
  private waiters: Waiter[] = [];
  closed: { code: number; reason: string } | undefined;
  /** The TCP port this socket connected from (known once the upgrade is answered): names it in a proxy's log. */
  localPort: number | undefined;
  /** The error `ws` reported on this socket (a protocol violation it saw, a reset), if any: it closes with 1006. */
  error: Error | undefined;
  private closeWaiters: Array<(value: { code: number; reason: string }) => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.once('upgrade', (response) => (this.localPort = response.socket.localPort));
    socket.on('message', (data: WebSocket.RawData) => this.receive(JSON.parse(data.toString()) as Frame));
    socket.on('error', (error: Error) => {
      this.error ??= error;
    });
    socket.on('close', (code: number, reason: Buffer) => {
      this.closed = { code, reason: reason.toString() };
      for (const waiter of this.closeWaiters) waiter(this.closed);
      this.closeWaiters = [];
      // No frame can come any more: a test waiting for one fails now, saying why, instead of timing out.
      for (const waiter of this.waiters.splice(0)) waiter.reject(this.closedError());
    });
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      const client = new TestClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode, body })));
      });
      socket.once('error', reject);
    });
  }

  private receive(frame: Frame): void {
    this.frames.push(frame);
    const waiter = this.waiters.find((candidate) => candidate.match(frame));
    if (waiter) {
      this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
      this.cursor = this.frames.length;
      waiter.resolve(frame);
    }
  }

  /** The next frame (after those already consumed) matching `match`. */
  next(match: (frame: Frame) => boolean = () => true): Promise<Frame> {
    for (let i = this.cursor; i < this.frames.length; i++) {
      const frame = this.frames[i]!;
      if (match(frame)) {
        this.cursor = i + 1;
        return Promise.resolve(frame);
      }
    }
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  }

  private closedError(): Error {
    const cause = this.error ? `; the client saw: ${this.error.message}` : '';
    return new Error(`the socket closed (${this.closed?.code} ${this.closed?.reason}) before the awaited frame; ${this.frames.length} frames received${cause}`);
  }

  nextOfType(type: string): Promise<Frame> {
    return this.next((frame) => frame.type === type);
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Round trip through the server: afterwards every frame sent before it is in `frames`. */
  async sync(): Promise<void> {
    this.send({ type: 'ping' });
    await this.nextOfType('pong');
  }

  ofType(type: string): Frame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    const done = this.waitClosed();
    this.socket.close();
    return done;
  }

  waitClosed(): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }
}

/**
 * Posts `count` group messages of `text` from `sender`, at most `window` of them ahead of what every reader has
 * received (message ids start at 1 on a fresh node). The readers of a test run in its process, on the in-process
 * node's own event loop: sent all at once, megabytes pile up in the node's send buffers whenever the loop is busy
 * publishing, and a reader more than CHAT_MAX_BACKPRESSURE behind at one of the node's checks is, by definition, a
 * slow consumer that the node closes (1006), as it should. Keeping `window` frames well under that limit makes the
 * readers fast by construction, whatever the machine's load.
 */
export async function postPaced(sender: TestClient, readers: TestClient[], count: number, text: string, window: number): Promise<void> {
  for (let sent = 0; sent < count; ) {
    const upTo = Math.min(count, sent + window);
    for (; sent < upTo; sent++) sender.send({ type: 'message', text });
    await Promise.all(readers.map((reader) => reader.next((frame) => frame.type === 'receive' && frame.id === upTo)));
  }
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
