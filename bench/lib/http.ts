/**
 * A small keep-alive HTTP/1.1 GET client on raw TCP for the login phase of the scenarios: tens of
 * thousands of `GET /login/:name` must cost the load generator far less than they cost the server,
 * which node's http client (≈ 60–100 µs a request) would not.
 */
import net from 'node:net';

export interface HttpResult {
  status: number;
  body: string;
}

interface Pending {
  path: string;
  resolve: (result: HttpResult) => void;
  reject: (error: Error) => void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Parses one response at the start of buf; returns it and its length, or undefined when incomplete. */
function parseResponse(buf: Buffer): { result: HttpResult; length: number; close: boolean } | undefined {
  const headerEnd = buf.indexOf(HEADER_END);
  if (headerEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headerEnd);
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection:\s*close/i.test(head);
  const bodyStart = headerEnd + 4;
  const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (lengthMatch?.[1] !== undefined) {
    const end = bodyStart + Number(lengthMatch[1]);
    if (buf.length < end) return undefined;
    return { result: { status, body: buf.toString('utf8', bodyStart, end) }, length: end, close };
  }
  if (!/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    return { result: { status, body: '' }, length: bodyStart, close: true };
  }
  let offset = bodyStart;
  const parts: Buffer[] = [];
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', offset);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buf.toString('latin1', offset, lineEnd), 16);
    const chunkEnd = lineEnd + 2 + size + 2;
    if (buf.length < chunkEnd) return undefined;
    if (size === 0) return { result: { status, body: Buffer.concat(parts).toString('utf8') }, length: chunkEnd, close };
    parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = chunkEnd;
  }
}

/** One keep-alive connection serving its queue one request at a time. */
class HttpConnection {
  private socket: net.Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private current: Pending | undefined;
  readonly queue: Pending[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly localAddress: string | undefined,
  ) {}

  get load(): number {
    return this.queue.length + (this.current === undefined ? 0 : 1);
  }

  enqueue(pending: Pending): void {
    this.queue.push(pending);
    this.pump();
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port, localAddress: this.localAddress, noDelay: true });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      this.fail(new Error('connection closed'));
    });
    this.buffer = Buffer.alloc(0);
    return socket;
  }

  private pump(): void {
    if (this.current !== undefined) return;
    const next = this.queue.shift();
    if (next === undefined) return;
    this.current = next;
    this.socket ??= this.connect();
    this.socket.write(`GET ${next.path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n\r\n`);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const parsed = parseResponse(this.buffer);
    if (parsed === undefined) return;
    this.buffer = this.buffer.subarray(parsed.length);
    const done = this.current;
    this.current = undefined;
    if (parsed.close) this.close();
    done?.resolve(parsed.result);
    this.pump();
  }

  private fail(error: Error): void {
    const done = this.current;
    this.current = undefined;
    if (done !== undefined) done.reject(error);
    this.pump();
  }
}

/** A fixed set of keep-alive connections; each request goes to the least loaded one. */
export class HttpPool {
  private readonly connections: HttpConnection[];

  constructor(host: string, port: number, size: number, localAddresses: string[] = []) {
    this.connections = Array.from(
      { length: size },
      (_, i) => new HttpConnection(host, port, localAddresses[i % Math.max(1, localAddresses.length)]),
    );
  }

  get(path: string): Promise<HttpResult> {
    let best = this.connections[0];
    for (const connection of this.connections) if (best === undefined || connection.load < best.load) best = connection;
    if (best === undefined) return Promise.reject(new Error('empty pool'));
    const target = best;
    return new Promise((resolve, reject) => target.enqueue({ path, resolve, reject }));
  }

  close(): void {
    for (const connection of this.connections) connection.close();
  }
}

/** One GET on a fresh connection, with a timeout (readiness polling). */
export async function httpGetOnce(host: string, port: number, path: string, timeoutMs: number): Promise<HttpResult> {
  const pool = new HttpPool(host, port, 1);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      pool.get(path),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`GET ${path} timed out`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    pool.close();
  }
}
