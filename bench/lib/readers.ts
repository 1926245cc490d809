/**
 * Reader processes: children of the load generator (`bench/workers/reader.ts`, forked, talking over IPC)
 * that hold the bulk of a scenario's sockets and only count the frames they receive, so that the process
 * that sends and times the probes does not also read hundreds of sockets × the rate. Each can be pinned to
 * a core; its CPU is read from /proc like a server's.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import type { Scope } from './clients.ts';
import { adoptChild, pinToCore } from './proc.ts';
import type { TargetId } from './targets.ts';

/** parent → reader */
export type ReaderRequest =
  | { id: number; type: 'connect'; target: TargetId; port: number; tokens: string[]; concurrency: number }
  | { id: number; type: 'count' };

/** reader → parent: `ready` once loaded, then one answer per request (same id) */
export type ReaderReply =
  | { type: 'ready' }
  | { id: number; type: 'connected'; group: number }
  | { id: number; type: 'count'; frames: number[]; closed: number }
  | { id: number; type: 'failed'; error: string };

type Answer = Exclude<ReaderReply, { type: 'ready' } | { type: 'failed' }>;

const WORKER = new URL('../workers/reader.ts', import.meta.url).pathname;
const START_TIMEOUT_MS = 20_000;

export interface ReaderCounts {
  /** frames received so far by each group of sockets (in the order they were connected) */
  frames: number[];
  /** sockets of this reader that are closed */
  closed: number;
}

export class Reader {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (answer: Answer) => void; reject: (error: Error) => void }>();
  private exitInfo: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    /** the core it is pinned to; undefined: wherever the load generator may run */
    readonly core: number | undefined,
  ) {
    child.on('message', (message: ReaderReply) => {
      if (message.type === 'ready') return;
      const waiting = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.type === 'failed') waiting?.reject(new Error(`reader ${pid}: ${message.error}`));
      else waiting?.resolve(message);
    });
    child.once('exit', (code, signal) => {
      this.exitInfo = `exited (${signal ?? code})`;
      for (const waiting of this.pending.values()) waiting.reject(new Error(`reader ${pid} ${this.exitInfo}`));
      this.pending.clear();
    });
  }

  /**
   * Forks a reader (the tsx loader, like the servers), pins it, lowers its priority by `nice` below this process's
   * (so that on a shared core this process runs as soon as it wakes), and waits until it is loaded; the scope stops it.
   */
  static async start(scope: Scope, core: number | undefined, nice = 0): Promise<Reader> {
    const child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    adoptChild(child);
    scope.defer(() => child.kill('SIGKILL'));
    if (child.pid === undefined) throw new Error('reader: fork failed');
    if (core !== undefined) pinToCore(child.pid, core);
    // Its main thread, the one that reads the sockets (setpriority acts on one thread; raising niceness needs no privilege).
    if (nice !== 0) setPriority(child.pid, Math.min(19, getPriority() + nice));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reader not loaded within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.once('exit', (code, signal) => reject(new Error(`reader exited while loading (${signal ?? code})`)));
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return new Reader(child, child.pid, core);
  }

  /** Opens one socket per token on the server at `port` (each until its welcome); returns their group's index. */
  async connect(target: TargetId, port: number, tokens: string[], concurrency: number): Promise<number> {
    const answer = await this.request({ type: 'connect', target, port, tokens, concurrency });
    if (answer.type !== 'connected') throw new Error(`reader ${this.pid}: answered ${answer.type} to connect`);
    return answer.group;
  }

  async counts(): Promise<ReaderCounts> {
    const answer = await this.request({ type: 'count' });
    if (answer.type !== 'count') throw new Error(`reader ${this.pid}: answered ${answer.type} to count`);
    return { frames: answer.frames, closed: answer.closed };
  }

  private request(body: Omit<Extract<ReaderRequest, { type: 'connect' }>, 'id'> | { type: 'count' }): Promise<Answer> {
    if (this.exitInfo !== undefined) return Promise.reject(new Error(`reader ${this.pid} ${this.exitInfo}`));
    const id = ++this.nextId;
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...body, id } satisfies ReaderRequest);
    });
  }
}
