/**
 * The console client's behaviour: log in (retrying while the node is unreachable), keep a connection,
 * run typed lines as commands one at a time — each send waits for the node's echo of its cid, so lines
 * keep their order and nothing is lost across reconnects — and log out on `x` or end of input. On
 * connecting it prints the last `--history` group messages; `/history [user]` pages further back.
 * Getting a session (by name or device login) is in sign-in.ts.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isValidUsername } from '../domain/names.ts';
import { Backoff, type BackoffOptions } from '../protocol/backoff.ts';
import { parseCommand, type Command } from './commands.ts';
import { Connection, type SessionEnd } from './connection.ts';
import * as format from './format.ts';
import type { ErrorFrame, ServerFrame, UsersFrame } from '../protocol/wire.ts';
import type { ClientFrame } from './frames.ts';
import { Scrollback } from './scrollback.ts';
import { Exit } from './exit.ts';
import { type Session, logout } from './http.ts';
import { deviceSession, loginUntilReachable } from './sign-in.ts';
import type { Terminal } from './terminal.ts';

export interface ClientOptions {
  /** http(s)://host:port of the node. */
  url: string;
  user: string | undefined;
  /** `--device`: log in through the node's OpenID Connect device login instead of by name. */
  device?: boolean;
  /** `--history`: group messages printed on connecting (0: none), and the page size of `/history`. */
  history: number;
  backoff: BackoffOptions;
  stableMs: number;
  keepaliveMs: number;
}

export { Exit } from './exit.ts';

type Outcome = { kind: 'accepted' } | { kind: 'refused'; error: ErrorFrame } | { kind: 'lost' };
type SendFrame = Extract<ClientFrame, { type: 'message' | 'direct' }>;


export class ConsoleClient {
  private session: Session | undefined;
  private connection: Connection | undefined;
  private readonly pending = new Map<string, (outcome: Outcome) => void>();
  private usersWaiter: ((page: UsersFrame | undefined) => void) | undefined;
  private readonly scrollback: Scrollback;
  private readonly cidPrefix = randomBytes(4).toString('hex');
  private cidCounter = 0;
  private quitting = false;
  private finish!: (code: number) => void;
  private readonly finished = new Promise<number>((resolve) => (this.finish = resolve));

  constructor(
    private readonly options: ClientOptions,
    private readonly terminal: Terminal,
  ) {
    this.scrollback = new Scrollback({
      connection: () => this.connection!,
      print: (line) => this.terminal.print(line),
      nextCid: () => this.nextCid(),
      onConnect: options.history,
      deliver: (frame) => this.onFrame(frame, undefined),
    });
  }

  /** Runs until the user quits, input ends or the session ends; resolves with the exit code. */
  async run(): Promise<number> {
    void this.start().then(this.finish, (error: unknown) => {
      this.terminal.fail(`actor-chat-client: ${error instanceof Error ? error.message : String(error)}`);
      this.finish(Exit.Failure);
    });
    const code = await this.finished;
    this.connection?.stop();
    return code;
  }

  /** Ctrl-C or SIGTERM: log out as `x` would, without waiting for pending sends. */
  interrupt(): void {
    if (this.quitting) {
      this.finish(130);
      return;
    }
    void this.quit().then(this.finish);
  }

  private async start(): Promise<number> {
    if (this.options.device) return this.begin(await deviceSession(this.options.url, this.terminal));
    const user = this.options.user ?? (await this.terminal.ask('user name: '))?.trim();
    if (!user) {
      this.terminal.fail('actor-chat-client: no user name given (use --user <name>)');
      return Exit.Usage;
    }
    if (!isValidUsername(user)) {
      this.terminal.fail(`actor-chat-client: invalid user name "${user}": use 1–64 letters, digits or _.@+- starting with a letter or digit`);
      return Exit.Usage;
    }
    return this.begin(await this.signIn(user));
  }

  private begin(session: Session | number): Promise<number> | number {
    if (typeof session === 'number') return session;
    this.session = session;
    this.terminal.setPrompt(`${session.user}> `);
    this.connection = this.connect();
    this.connection.start();
    return this.commandLoop();
  }

  /** A session by the way the options ask: device login, or by name (retried while unreachable). */
  private signIn(user: string): Promise<Session | number> {
    if (this.options.device) return deviceSession(this.options.url, this.terminal);
    return loginUntilReachable(this.options.url, this.options.backoff, this.terminal, user);
  }

  private connect(): Connection {
    const wsUrl = `${this.options.url.replace(/^http/, 'ws')}/ws`;
    return new Connection({
      wsUrl,
      token: () => this.session?.token ?? '',
      backoff: new Backoff(this.options.backoff),
      stableMs: this.options.stableMs,
      keepaliveMs: this.options.keepaliveMs,
      handlers: {
        frame: (frame, resumedAfter) => this.onFrame(frame, resumedAfter),
        ready: () => this.onReady(),
        notice: (text) => this.terminal.print(text),
        ended: (reason, detail) => void this.onEnded(reason, detail),
      },
    });
  }

  private async commandLoop(): Promise<number> {
    for (;;) {
      const line = await this.terminal.nextLine();
      if (line === undefined) return this.quit();
      const command = parseCommand(line);
      if (command.kind === 'quit') return this.quit();
      await this.execute(command);
    }
  }

  private async execute(command: Exclude<Command, { kind: 'quit' }>): Promise<void> {
    switch (command.kind) {
      case 'message':
        return this.deliver({ type: 'message', text: command.text, cid: this.nextCid() });
      case 'direct':
        return this.deliver({ type: 'direct', to: command.to, text: command.text, cid: this.nextCid() });
      case 'users':
        return this.listUsers();
      case 'history':
        return this.scrollback.show(command.with);
      case 'help':
        return this.terminal.print(format.HELP);
      case 'invalid':
        return this.terminal.print(`! ${command.problem}`);
      case 'empty':
        return;
    }
  }

  /** Sends until the node accepts or refuses it; resends after a reconnect or a rate-limit pause. */
  private async deliver(frame: SendFrame): Promise<void> {
    const pause = new Backoff({ minMs: 250, maxMs: 5000 });
    for (;;) {
      await this.connection!.whenReady();
      const outcome = await this.sendOnce(frame);
      if (outcome.kind === 'accepted') return;
      if (outcome.kind === 'refused' && outcome.error.code !== 'rate_limited') {
        this.terminal.print(format.formatError(outcome.error));
        return;
      }
      if (outcome.kind === 'refused') await sleep(Math.max(pause.next(), 50));
    }
  }

  private sendOnce(frame: SendFrame): Promise<Outcome> {
    if (!this.connection!.send(frame)) return Promise.resolve({ kind: 'lost' });
    return new Promise((resolve) => this.pending.set(frame.cid, resolve));
  }

  private async listUsers(): Promise<void> {
    const users: UsersFrame['users'] = [];
    let after: string | undefined;
    let online = 0;
    for (;;) {
      await this.connection!.whenReady();
      const page = await this.requestUsers(after);
      if (!page) continue; // lost with the connection: ask again for the same page
      users.push(...page.users);
      online = page.online;
      if (page.next === null || page.next === undefined) break;
      after = page.next;
    }
    this.terminal.print(format.formatUsers(users, online));
  }

  private requestUsers(after: string | undefined): Promise<UsersFrame | undefined> {
    const frame: ClientFrame = after === undefined ? { type: 'list-users' } : { type: 'list-users', after };
    if (!this.connection!.send(frame)) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.usersWaiter = resolve));
  }

  private onFrame(frame: ServerFrame, resumedAfter: number | undefined): void {
    switch (frame.type) {
      case 'welcome':
        this.terminal.print(format.formatWelcome(frame, resumedAfter));
        return this.scrollback.welcome(frame.seq);
      case 'receive':
      case 'direct':
        if (this.scrollback.hold(frame)) return;
        this.settle(frame.cid, { kind: 'accepted' });
        return this.terminal.print(frame.type === 'receive' ? format.formatReceive(frame) : format.formatDirect(frame));
      case 'presence':
        for (const line of format.formatPresence(frame)) this.terminal.print(line);
        return;
      case 'users':
        return this.takeUsers(frame);
      case 'history':
        this.scrollback.answer(frame.cid, { kind: 'page', frame });
        return;
      case 'error':
        if (frame.cid !== undefined && this.settle(frame.cid, { kind: 'refused', error: frame })) return;
        if (this.scrollback.answer(frame.cid, { kind: 'refused', error: frame })) return;
        return this.terminal.print(format.formatError(frame));
      case 'history-gap':
        return this.terminal.print(format.formatHistoryGap(frame));
      case 'pong':
        return;
    }
  }

  private settle(cid: string | undefined, outcome: Outcome): boolean {
    const resolve = cid === undefined ? undefined : this.pending.get(cid);
    if (!resolve) return false;
    this.pending.delete(cid!);
    resolve(outcome);
    return true;
  }

  private takeUsers(frame: UsersFrame): void {
    const waiter = this.usersWaiter;
    this.usersWaiter = undefined;
    if (waiter) waiter(frame);
    else this.terminal.print(format.formatUsers(frame.users, frame.online));
  }

  /** A new socket finished its replay: whatever is still pending was sent on a dead one. */
  private onReady(): void {
    for (const cid of [...this.pending.keys()]) this.settle(cid, { kind: 'lost' });
    this.scrollback.lost();
    const waiter = this.usersWaiter;
    this.usersWaiter = undefined;
    waiter?.(undefined);
  }

  private async onEnded(reason: SessionEnd, detail: string): Promise<void> {
    if (this.quitting) return;
    if (reason === 'logged_out') {
      this.terminal.print(`* logged out: ${detail}`);
      this.finish(Exit.SessionEnded);
      return;
    }
    if (!this.terminal.interactive) {
      this.terminal.print(`! ${reason}: ${detail}; log in again`);
      this.finish(Exit.SessionEnded);
      return;
    }
    this.terminal.print(`* ${reason.replace('_', ' ')}: logging in again`);
    const session = await this.signIn(this.session!.user);
    if (typeof session === 'number') return this.finish(session);
    this.session = session;
    this.connection!.start();
  }

  private async quit(): Promise<number> {
    this.quitting = true;
    const session = this.session;
    if (!session) return Exit.Ok;
    try {
      await logout(this.options.url, session);
    } catch (error) {
      this.terminal.print(`! logout failed: ${error instanceof Error ? error.message : String(error)}`);
      return Exit.Failure;
    } finally {
      this.connection?.stop();
    }
    this.terminal.print(`* logged out ${session.user}`);
    return Exit.Ok;
  }

  private nextCid(): string {
    this.cidCounter += 1;
    return `${this.cidPrefix}-${this.cidCounter}`;
  }
}
