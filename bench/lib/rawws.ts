/**
 * A deliberately cheap WebSocket client for load generation: raw TCP, a hand-written upgrade
 * request, frame headers scanned in place without copying, payloads looked at only by the clients
 * that ask for them (`onData`). With `eio` it also speaks Engine.IO v4 / Socket.IO v5 text framing
 * (open `0{…}` → connect `40`, ping `2` → pong `3`, events `42[…]`), never socket.io-client.
 */
import net from 'node:net';

export interface RawWsOptions {
  host: string;
  port: number;
  path: string;
  token: string;
  localAddress?: string | undefined;
  eio: boolean;
  /** called for every application message frame (welcome included), payload is buf[start, end) */
  onData?: ((buf: Buffer, start: number, end: number) => void) | undefined;
}

const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const CHAR_0 = 0x30;
const CHAR_2 = 0x32;
const CHAR_4 = 0x34;
const HEADER_END = '\r\n\r\n';

/** A client frame. The mask key is zero, so the payload goes out as is (servers do not judge the key). */
export function clientFrame(payload: string | Buffer, opcode = OP_TEXT): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = body.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + 4 + length);
  out[0] = 0x80 | opcode;
  if (length < 126) {
    out[1] = 0x80 | length;
  } else if (length < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(length, 6);
  }
  out.writeUInt32BE(0, header);
  body.copy(out, header + 4);
  return out;
}

const EIO_CONNECT = clientFrame('40');
const EIO_PONG = clientFrame('3');
const CLOSE_NORMAL = clientFrame(Buffer.from([0x03, 0xe8]), OP_CLOSE);

export class RawWs {
  /** application message frames received (for Socket.IO: `42` event packets only) */
  frames = 0;
  welcomed = false;
  isClosed = false;
  /** the server's close frame (`code reason`), or the socket error, for diagnostics */
  closeInfo: string | undefined;
  readonly ready: Promise<void>;
  readonly closed: Promise<void>;
  onData: RawWsOptions['onData'];
  private readonly socket: net.Socket;
  private upgraded = false;
  private head = '';
  private pending: Buffer | null = null;
  private resolveReady!: () => void;
  private rejectReady!: (error: Error) => void;

  constructor(private readonly options: RawWsOptions) {
    this.onData = options.onData;
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined); // awaited by the caller when it cares; never an unhandled rejection
    this.socket = net.connect({
      host: options.host,
      port: options.port,
      localAddress: options.localAddress,
      noDelay: true,
    });
    this.closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.once('connect', () => this.socket.write(this.upgradeRequest()));
    this.socket.on('data', (chunk: Buffer) => (this.upgraded ? this.onFrames(chunk) : this.onHandshake(chunk)));
    this.socket.on('error', (error) => {
      this.closeInfo ??= error.message;
      this.rejectReady(error);
    });
    this.socket.once('close', () => {
      this.isClosed = true;
      this.rejectReady(new Error(this.upgraded ? `closed before welcome (${this.closeInfo ?? 'no close frame'})` : `closed during upgrade ${this.head.slice(0, 60)}`));
    });
  }

  send(payload: string): void {
    this.socket.write(clientFrame(payload));
  }

  sendFrame(frame: Buffer): void {
    this.socket.write(frame);
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  /** Sends a close frame, half-closes and waits for the server to finish (bounded). */
  async close(timeoutMs = 3000): Promise<void> {
    if (this.isClosed) return;
    if (this.upgraded) this.socket.write(CLOSE_NORMAL);
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    await this.closed;
    clearTimeout(timer);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private upgradeRequest(): string {
    const { host, port, path, token } = this.options;
    return (
      `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
      `Authorization: Bearer ${token}\r\n\r\n`
    );
  }

  private onHandshake(chunk: Buffer): void {
    this.head += chunk.toString('latin1');
    const end = this.head.indexOf(HEADER_END);
    if (end < 0) return;
    const statusLine = this.head.slice(0, this.head.indexOf('\r\n'));
    if (!statusLine.startsWith('HTTP/1.1 101')) {
      this.rejectReady(new Error(`upgrade refused: ${statusLine}`));
      this.socket.destroy();
      return;
    }
    this.upgraded = true;
    const rest = Buffer.from(this.head.slice(end + 4), 'latin1');
    this.head = statusLine;
    if (rest.length > 0) this.onFrames(rest);
  }

  private onFrames(chunk: Buffer): void {
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    const length = buf.length;
    let offset = 0;
    while (offset + 2 <= length) {
      const b0 = buf[offset] as number;
      let size = (buf[offset + 1] as number) & 0x7f;
      let header = 2;
      if (size === 126) {
        if (offset + 4 > length) break;
        size = buf.readUInt16BE(offset + 2);
        header = 4;
      } else if (size === 127) {
        if (offset + 10 > length) break;
        size = buf.readUInt32BE(offset + 6);
        header = 10;
      }
      const start = offset + header;
      const end = start + size;
      if (end > length) break;
      this.onFrame(b0 & 0x0f, buf, start, end);
      offset = end;
    }
    this.pending = offset < length ? buf.subarray(offset) : null;
  }

  private onFrame(opcode: number, buf: Buffer, start: number, end: number): void {
    if (opcode === OP_PING) {
      this.socket.write(clientFrame(buf.subarray(start, end), 0xa));
      return;
    }
    if (opcode === OP_CLOSE) {
      const code = end - start >= 2 ? buf.readUInt16BE(start) : 1005;
      this.closeInfo = `${code} ${buf.toString('utf8', Math.min(end, start + 2), end)}`;
      this.socket.end();
      return;
    }
    if (opcode > 0x2) return;
    if (this.options.eio && !this.onEngineIo(buf, start, end)) return;
    this.frames++;
    if (!this.welcomed) {
      this.welcomed = true;
      this.resolveReady();
    }
    if (this.onData !== undefined) this.onData(buf, start, end);
  }

  /** Handles Engine.IO control packets; true when the frame is a Socket.IO event (`42…`). */
  private onEngineIo(buf: Buffer, start: number, end: number): boolean {
    const first = buf[start];
    if (first === CHAR_4) {
      if (buf[start + 1] === CHAR_2) return true;
      if (buf[start + 1] === CHAR_4) this.rejectReady(new Error(`connect error ${buf.toString('utf8', start, end)}`));
      return false; // `40{sid}` connect ack: the welcome event follows
    }
    if (first === CHAR_2 && end - start === 1) this.socket.write(EIO_PONG);
    else if (first === CHAR_0) this.socket.write(EIO_CONNECT);
    return false;
  }
}
