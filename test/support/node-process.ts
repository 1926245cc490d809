/**
 * The chat node as a real child process (`tsx src/main.ts`) on port 0, for tests that need
 * signals: SIGTERM drains, SIGKILL crashes. Parses its JSON log lines from stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { JsonLines } from './json-lines.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  logs: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

export interface LaunchedNode {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  stderr(): string;
}

export interface LaunchOptions {
  /** A command the node runs under, e.g. `['prlimit', '--fsize=4096', '--']`. */
  wrap?: string[];
  /** Flags for node itself, e.g. `['--max-old-space-size=64']`. */
  nodeArgs?: string[];
}

export function spawnNode(env: Record<string, string>, options: LaunchOptions = {}): Promise<NodeProcess> {
  const { child, logs, exited, waitForLog, stderr } = launchNode(env, options);
  return new Promise((resolve, reject) => {
    exited.then(({ code }) => reject(new Error(`node exited (${code}) before listening: ${stderr()}`)));
    waitForLog((line) => typeof line.url === 'string' && String(line.msg).startsWith('actor-chat listening')).then((line) => {
      const url = String(line.url);
      resolve({ child, url, wsUrl: `${url.replace('http', 'ws')}/ws`, logs, exited, waitForLog });
    });
  });
}

/** Starts the node process without waiting for it to listen (for start-ups that must fail). */
export function launchNode(env: Record<string, string>, options: LaunchOptions = {}): LaunchedNode {
  const [command, ...prefix] = [...(options.wrap ?? []), process.execPath];
  const child = spawn(command!, [...prefix, ...(options.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', CHAT_HOST: '127.0.0.1', CHAT_PORT: '0', CHAT_METRICS_PORT: '0', CHAT_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs = new JsonLines({ skipOtherLines: true });
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => logs.write(chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, logs: logs.lines, exited, waitForLog: (match) => logs.waitFor(match), stderr: () => stderr };
}
