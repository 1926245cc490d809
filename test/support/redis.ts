/**
 * A real `redis-server` (Debian's package) for the engine tests: a free loopback port (Redis's
 * `--port 0` turns TCP off, so the port is found by binding and releasing it, retried on
 * EADDRINUSE), AOF on, RDB off, its own temp data dir. It can be killed (SIGKILL), stopped
 * (SIGTERM), restarted on the same data, and restarted from an older copy of its AOF (a rollback).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** One command through Debian's `redis-cli` against the server on `port`: its reply as text, trimmed. */
export function redisCli(port: number, ...args: string[]): string {
  return execFileSync(REDIS_SERVER.replace('redis-server', 'redis-cli'), ['-p', String(port), ...args], { encoding: 'utf8' }).trim();
}

export interface RedisOptions {
  /** `yes` (default) or `no`: the tests of the AOF warning run without it. */
  appendonly?: 'yes' | 'no';
  /** Also listen on a unix socket in the data dir (`socketPath`). */
  unixSocket?: boolean;
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly options: RedisOptions,
  ) {}

  /** Starts a server on a free port; a port taken between the probe and the bind is retried. */
  static async start(options: RedisOptions = {}): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'actor-chat-redis-'));
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(dir, await freePort(), options);
      try {
        await server.launch();
        return server;
      } catch (error) {
        if (attempt >= 5 || !server.output.includes('Address already in use')) throw error;
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get socketPath(): string {
    return join(this.dir, 'redis.sock');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Crash: no shutdown, no final AOF flush beyond what the kernel already has. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Clean shutdown (Redis flushes its AOF). */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Starts again on the same port and data dir. */
  async restart(): Promise<void> {
    if (this.child) await this.stop();
    await this.launch();
  }

  /** A copy of the AOF as it is now (Redis keeps running); `restoreFrom` rolls back to it. */
  async copyData(): Promise<string> {
    const copy = await mkdtemp(join(tmpdir(), 'actor-chat-redis-copy-'));
    await cp(join(this.dir, 'appendonlydir'), join(copy, 'appendonlydir'), { recursive: true });
    return copy;
  }

  /** Kills the server, puts an older AOF copy in place, starts it again: the log rolled back. */
  async restoreFrom(copy: string): Promise<void> {
    if (this.child) await this.kill();
    await rm(join(this.dir, 'appendonlydir'), { recursive: true, force: true });
    await cp(join(copy, 'appendonlydir'), join(this.dir, 'appendonlydir'), { recursive: true });
    await this.launch();
  }

  async close(): Promise<void> {
    if (this.child) await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await this.exited;
    this.child = undefined;
  }

  private launch(): Promise<void> {
    this.output = '';
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', this.options.appendonly ?? 'yes',
        '--save', '', '--daemonize', 'no', '--logfile', '', '--protected-mode', 'yes',
        ...(this.options.unixSocket ? ['--unixsocket', this.socketPath, '--unixsocketperm', '700'] : [])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.output += chunk.toString();
        if (this.output.includes('Ready to accept connections')) {
          child.stdout!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
      child.once('exit', (code) => {
        this.child = undefined;
        reject(new Error(`redis-server exited (${code}) before it was ready: ${this.output.slice(-2000)}`));
      });
    });
  }
}
