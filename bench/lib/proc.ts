/**
 * Process plumbing for the benchmark: pin processes to cores, spawn servers as children, read their
 * CPU time (utime+stime from /proc/<pid>/stat) and RSS (/proc/<pid>/status), and make sure no child
 * outlives the run, whatever way it ends.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { httpGetOnce } from './http.ts';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const children = new Set<ChildProcess>();

/** Kills every live child server at once; safe to call from an 'exit' handler (synchronous). */
export function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch (error) {
        console.error(`bench: could not kill child ${child.pid}: ${(error as Error).message}`);
      }
    }
  }
  children.clear();
}

/** Registers a child started elsewhere (a load-generator worker): it is killed with the servers, however the run ends. */
export function adoptChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Installs exit and signal handlers that kill the child servers; idempotent. */
let cleanupInstalled = false;
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`bench: ${signal}, stopping child servers`);
      killAllChildren();
      process.exit(130);
    });
  }
}

/** Sets the nice value of every thread of a process (threads created later inherit it). */
export function renice(pid: number, nice: number): boolean {
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) execFileSync('renice', ['-n', String(nice), '-p', tid], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // not permitted (no CAP_SYS_NICE): the caller reports that it ran at normal priority
  }
}

/** Pins every thread of a running process (and threads it creates later) to one core. */
export function pinToCore(pid: number, core: number): void {
  execFileSync('taskset', ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
}

/** The hard open-files limit of this process (children inherit it). */
export function fileLimit(): number {
  const match = /Max open files\s+\S+\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return match?.[1] === undefined || match[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(match[1]);
}

/**
 * Tries to raise the open-files limit (50k sockets need it) and returns the hard limit in force:
 * without CAP_SYS_RESOURCE (containers) the hard limit cannot be raised, and the caller caps sizes.
 */
export function raiseFileLimit(pid: number, limit: number): number {
  try {
    execFileSync('prlimit', ['--pid', String(pid), `--nofile=${limit}:${limit}`], { stdio: 'ignore' });
  } catch {
    // not permitted here: the limit in force is read back below and reported
  }
  return fileLimit();
}

export function hasCommand(name: string): boolean {
  try {
    execFileSync('bash', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false; // absence is the answer, not an error
  }
}

/** Server CPU time (user+system, all threads) in microseconds. */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: fields are counted from after its closing ')', where field 3 starts.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // fields 14 (utime) and 15 (stime)
  return (ticks * 1e6) / CLK_TCK;
}

/** Resident set size in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (match?.[1] === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerSpec {
  name: string;
  args: string[]; // node arguments
  env: Record<string, string>;
  port: number;
  readyPath: string;
  core: number;
  startTimeoutMs: number;
  /** nice value for the server (0: normal priority) */
  nice: number;
  /** working directory of the server (default: this process's) */
  cwd?: string | undefined;
  /** stop with SIGINT and wait, always (so `--cpu-prof` writes its profile) */
  gracefulStop?: boolean;
  /** also write the server's whole stdout and stderr to this file */
  logFile?: string | undefined;
}

export interface ServerProc {
  name: string;
  pid: number;
  port: number;
  /** actor-chat: the port of its metrics listener (GET /metrics). */
  metricsPort?: number;
  /** a node on the Redis engine: the pid of its redis-server (its CPU is measured too) */
  redisPid?: number;
  /** last lines of the server's stdout and stderr, for diagnostics */
  tail(): string;
  exited(): boolean;
  /** SIGKILL by default; graceful sends SIGINT first (so --cpu-prof can write its profile) */
  stop(graceful?: boolean): Promise<void>;
}

export async function startServer(spec: ServerSpec): Promise<ServerProc> {
  const pinned = ['taskset', '-c', String(spec.core), process.execPath, ...spec.args];
  const command = spec.nice === 0 ? pinned : ['nice', '-n', String(spec.nice), ...pinned];
  const child = spawn(command[0] as string, command.slice(1), {
    env: { ...process.env, ...spec.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: spec.cwd,
  });
  children.add(child);
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(line.slice(0, 400));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  if (spec.logFile !== undefined) {
    const file = createWriteStream(spec.logFile);
    child.stdout?.pipe(file);
    child.stderr?.pipe(file);
  }
  const exitPromise = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => children.delete(child));
  if (child.pid === undefined) throw new Error(`${spec.name}: spawn failed`);
  const pid = child.pid; // nice and taskset exec the node binary, so this is the server's own pid
  const proc: ServerProc = {
    name: spec.name,
    pid,
    port: spec.port,
    tail: () => lines.join('\n'),
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: async (graceful = spec.gracefulStop === true) => {
      if (proc.exited()) return;
      if (graceful) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exitPromise;
        clearTimeout(timer);
        return;
      }
      child.kill('SIGKILL'); // no graceful shutdown: tens of thousands of sockets would only add noise
      await exitPromise;
    },
  };
  await waitReady(proc, spec);
  return proc;
}

async function waitReady(proc: ServerProc, spec: ServerSpec): Promise<void> {
  const deadline = Date.now() + spec.startTimeoutMs;
  while (Date.now() < deadline) {
    if (proc.exited()) throw new Error(`${spec.name} exited during start:\n${proc.tail()}`);
    try {
      const res = await httpGetOnce('127.0.0.1', spec.port, spec.readyPath, 1000);
      if (res.status === 200) return;
    } catch {
      // not listening yet: poll again until the deadline
    }
    await sleep(100);
  }
  await proc.stop();
  throw new Error(`${spec.name} not ready within ${spec.startTimeoutMs} ms:\n${proc.tail()}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
