/**
 * Drives the real console client as a child process: writes lines to its stdin, waits for stdout
 * lines matching a pattern (the overall timeout is a failure guard, never a sleep), awaits its exit.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Waiter {
  pattern: RegExp;
  resolve: (line: string) => void;
}

export class ClientProcess {
  readonly lines: string[] = [];
  stderr = '';
  private partial = '';
  private cursor = 0;
  private waiters: Waiter[] = [];
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => this.receive(chunk));
    child.stderr.on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** `node --import tsx src/client/main.ts <args>` from the repository root. */
  static start(args: string[]): ClientProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/client/main.ts', ...args], { cwd: ROOT, stdio: 'pipe' });
    return new ClientProcess(child);
  }

  /** The package bin, `bin/actor-chat-client.mjs`, run through its shebang. */
  static startBin(args: string[]): ClientProcess {
    return new ClientProcess(spawn(`${ROOT}bin/actor-chat-client.mjs`, args, { cwd: ROOT, stdio: 'pipe' }));
  }

  /** The proof of concept's Python console client (`test/python/client.py`) on Debian's `/usr/bin/python3`. */
  static startPython(args: string[], env: Record<string, string> = {}): ClientProcess {
    const options = { cwd: ROOT, stdio: 'pipe' as const, env: { ...process.env, ...env } };
    return new ClientProcess(spawn('/usr/bin/python3', ['-u', 'test/python/client.py', ...args], options));
  }

  write(...lines: string[]): void {
    this.child.stdin.write(lines.map((line) => `${line}\n`).join(''));
  }

  end(): void {
    this.child.stdin.end();
  }

  /** The next stdout line (after those already matched) matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    for (let i = this.cursor; i < this.lines.length; i++) {
      if (pattern.test(this.lines[i]!)) {
        this.cursor = i + 1;
        return Promise.resolve(this.lines[i]!);
      }
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`));
      }, timeoutMs);
      const done = (line: string): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push({ pattern, resolve: done });
    });
  }

  /** Lines equal to `line`, anywhere in the transcript so far. */
  count(line: string): number {
    return this.lines.filter((candidate) => candidate.endsWith(line)).length;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private receive(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop()!;
    for (const line of parts) {
      this.lines.push(line);
      const waiter = this.waiters.find((candidate) => candidate.pattern.test(line));
      if (!waiter) continue;
      this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
      this.cursor = this.lines.length;
      waiter.resolve(line);
    }
  }
}
