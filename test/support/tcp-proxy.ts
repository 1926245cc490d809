/**
 * A loopback TCP proxy a test can take down and bring back: while down it refuses new connections,
 * so a client's reconnect is held off for exactly as long as the test needs (no timing guesses).
 * `pause()` stalls the open connections instead (bytes wait in both directions, nothing closes):
 * a link that hangs, as a partition looks to both ends.
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';

export class TcpProxy {
  private up = true;
  private paused = false;
  private readonly sockets = new Set<Socket>();
  private readonly links: Array<readonly [Socket, Socket]> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((socket) => proxy!.accept(socket, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Refuse new connections from now on (open ones stay). */
  down(): void {
    this.up = false;
  }

  restore(): void {
    this.up = true;
  }

  /** Stall every connection, open and new, until `resume()`: nothing is lost, nothing flows. */
  pause(): void {
    this.paused = true;
    for (const [from, to] of this.links) {
      from.unpipe(to);
      from.pause();
    }
  }

  resume(): void {
    this.paused = false;
    for (const [from, to] of this.links) from.pipe(to);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket, targetPort: number): void {
    if (!this.up) {
      socket.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const [from, to] of [[socket, upstream], [upstream, socket]] as const) {
      this.sockets.add(from);
      this.links.push([from, to]);
      if (this.paused) from.pause();
      else from.pipe(to);
      from.on('error', () => to.destroy()); // one side failed: the connection is over for both
      from.on('close', () => {
        this.sockets.delete(from);
        const link = this.links.findIndex(([source]) => source === from);
        if (link >= 0) this.links.splice(link, 1);
        to.destroy();
      });
    }
  }
}
