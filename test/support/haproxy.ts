/**
 * Debian's HAProxy running the project's own `deploy/haproxy.cfg`, verbatim: the file reads its listen
 * address, its node addresses and its runtime API socket from `"${VAR-default}"` values, and this sets
 * those variables (a free loopback port, the test's nodes, a temp dir). HAProxy runs in master-worker
 * mode in the foreground; its log lines (one per request, logged when the node answers; server state
 * changes) are read from its stdout and parsed, so a test sees which node each request went to.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';

export const HAPROXY = '/usr/sbin/haproxy';
export const HAPROXY_CONFIG = fileURLToPath(new URL('../../deploy/haproxy.cfg', import.meta.url));
/** The runtime API's unix socket, in the instance's temp dir. */
const STATS_SOCKET = 'admin.sock';
/** The servers `deploy/haproxy.cfg` lists: `CHAT_NODE1`…`CHAT_NODE3`. */
export const HAPROXY_SERVERS = 3;

/** One request as HAProxy logged it (`option httplog`, `option logasap`). */
export interface RoutedRequest {
  clientPort: number;
  /** The server's name in the config (`node1`…), or `<NOSRV>` when HAProxy answered itself. */
  server: string;
  status: number;
  method: string;
  path: string;
}

const REQUEST_LINE = /^[\d.]+:(\d+) \[[^\]]*\] \S+ chat_nodes\/(\S+) \S+ (-?\d+) .*"(\S+) (\S+) HTTP\/[\d.]+"$/;

export function parseRequest(line: string): RoutedRequest | undefined {
  const match = REQUEST_LINE.exec(line);
  if (!match) return undefined;
  return { clientPort: Number(match[1]), server: match[2]!, status: Number(match[3]), method: match[4]!, path: match[5]! };
}

/** Run as root, HAProxy drops to the config's default user `haproxy`; anyone else runs it as themselves. */
function identity(): Record<string, string> {
  if (process.getuid?.() === 0) return {};
  return {
    HAPROXY_USER: execFileSync('id', ['-un'], { encoding: 'utf8' }).trim(),
    HAPROXY_GROUP: execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim(),
  };
}

export class Haproxy {
  readonly lines: string[] = [];
  private readonly waiters: Array<{ match: (line: string) => boolean; resolve: (line: string) => void }> = [];
  private stderr = '';
  private readonly exited: Promise<void>;
  private readonly statsSocket: string;
  private readonly killOnExit = (): void => void this.child.kill('SIGKILL');

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly port: number,
  ) {
    this.statsSocket = join(dir, STATS_SOCKET);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    process.once('exit', this.killOnExit);
  }

  /**
   * Starts HAProxy in front of `servers` (`host:port` each, one per server line of the config) and
   * waits until every server has passed a health check.
   */
  static async start(servers: string[]): Promise<Haproxy> {
    if (servers.length !== HAPROXY_SERVERS) throw new Error(`deploy/haproxy.cfg lists ${HAPROXY_SERVERS} servers, got ${servers.length}`);
    const dir = await mkdtemp(join(tmpdir(), 'actor-chat-haproxy-'));
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        CHAT_LB_BIND: `127.0.0.1:${port}`,
        HAPROXY_STATS_SOCKET: join(dir, STATS_SOCKET),
        ...identity(),
        ...Object.fromEntries(servers.map((server, index) => [`CHAT_NODE${index + 1}`, server])),
      };
      const child = spawn(HAPROXY, ['-W', '-db', '-f', HAPROXY_CONFIG], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const haproxy = new Haproxy(child, dir, port);
      try {
        await haproxy.loaded();
        await haproxy.checked();
        return haproxy;
      } catch (error) {
        await haproxy.close();
        if (attempt >= 5 || !String((error as Error).message).includes('cannot bind')) throw error;
      }
    }
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Every request HAProxy has logged so far. */
  requests(): RoutedRequest[] {
    return this.lines.map(parseRequest).filter((request): request is RoutedRequest => request !== undefined);
  }

  /** The first log line that `match` accepts, among those from index `from` on (past or future). */
  line(match: (line: string) => boolean, from = 0): Promise<string> {
    const seen = this.lines.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The first logged request (past or future) that `match` accepts. */
  async request(match: (request: RoutedRequest) => boolean): Promise<RoutedRequest> {
    return parseRequest(await this.line((text) => {
      const request = parseRequest(text);
      return request !== undefined && match(request);
    }))!;
  }

  /** The backend's servers as the runtime API reports them (`show stat`): `UP`/`DOWN`, last check (`L7OK`…). */
  async servers(): Promise<Array<{ name: string; status: string; check: string }>> {
    const csv = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = createConnection(this.statsSocket, () => socket.end('show stat\n'));
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const [header, ...rows] = csv.replace(/^# /, '').trim().split('\n').map((line) => line.split(','));
    const column = (name: string): number => header!.indexOf(name);
    return rows
      .filter((row) => row[column('pxname')] === 'chat_nodes' && row[column('svname')] !== 'BACKEND')
      .map((row) => ({ name: row[column('svname')]!, status: row[column('status')]!, check: row[column('check_status')]! }));
  }

  /**
   * Until every server has passed a health check (HAProxy starts them UP before checking any): asks
   * the runtime API every 50 ms, for at most `timeoutMs`.
   */
  async checked(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; attempt < timeoutMs / 50 + 1 && Date.now() < deadline; attempt++) {
      const servers = await this.servers();
      if (servers.length > 0 && servers.every((server) => server.status === 'UP' && server.check === 'L7OK')) return;
      await delay(50);
    }
    throw new Error(`not every server passed its health check within ${timeoutMs} ms: ${JSON.stringify(await this.servers())}`);
  }

  /** The server the WebSocket upgrade from client port `clientPort` was sent to. */
  async serverOfSocket(clientPort: number): Promise<string> {
    return (await this.request((request) => request.clientPort === clientPort && request.path.startsWith('/ws'))).server;
  }

  /** Resolves when HAProxy logs that `server` went down (its health check failed), from log line `from` on. */
  serverDown(server: string, from = 0): Promise<string> {
    return this.line((text) => text.startsWith(`Server chat_nodes/${server} is DOWN`), from);
  }

  /** Resolves when HAProxy logs that `server` is back up, from log line `from` on. */
  serverUp(server: string, from = 0): Promise<string> {
    return this.line((text) => text.startsWith(`Server chat_nodes/${server} is UP`), from);
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
    process.off('exit', this.killOnExit);
    await rm(this.dir, { recursive: true, force: true });
  }

  private loaded(): Promise<void> {
    let pending = '';
    this.child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const parts = pending.split('\n');
      pending = parts.pop()!;
      for (const text of parts) {
        this.lines.push(text);
        for (const waiter of this.waiters.filter((candidate) => candidate.match(text))) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve(text);
        }
      }
    });
    return new Promise((resolve, reject) => {
      this.child.stderr!.on('data', (chunk: Buffer) => {
        this.stderr += chunk.toString();
        // The master prints this once the worker runs with its listeners bound.
        if (this.stderr.includes('Loading success.')) resolve();
      });
      this.child.once('exit', (code) => reject(new Error(`haproxy exited (${code}) before it was ready: ${this.stderr.slice(-2000)}`)));
    });
  }
}
