/**
 * @module client/scrollback
 * The console client's history: the last `--history` group messages printed once on connecting (live
 * messages held back until they are, so the screen stays in order), and `/history [user]`, each call
 * printing the page before the oldest message the previous one printed in that conversation.
 */
import type { Connection } from './connection.ts';
import * as format from './format.ts';
import type { ErrorFrame, HistoryFrame, ServerFrame } from '../protocol/wire.ts';
import type { ClientFrame } from './frames.ts';

type HistoryRequest = Extract<ClientFrame, { type: 'history' }>;
export type HistoryAnswer = { kind: 'page'; frame: HistoryFrame } | { kind: 'refused'; error: ErrorFrame } | { kind: 'lost' };
/** Where `/history` goes on in one conversation: before this id, or nowhere (its start, or expired). */
type Older = { before: number; end?: undefined } | { end: string };

/** Page size of `/history` when `--history 0` turned off the one on connecting. */
const DEFAULT_PAGE = 20;

export interface ScrollbackDeps {
  connection(): Connection;
  print(line: string): void;
  nextCid(): string;
  /** Group messages to print on connecting (0: none); also the page size of `/history`. */
  onConnect: number;
  /** Hands a held-back live frame to the client once the history before it is printed. */
  deliver(frame: ServerFrame): void;
}

export class Scrollback {
  private readonly waiters = new Map<string, (answer: HistoryAnswer) => void>();
  /** Per conversation ('' for the group, else the other user): where the next `/history` starts. */
  private readonly older = new Map<string, Older>();
  /** Newest message id when first connected: history starts before it (later ones were printed live). */
  private connectedAt: number | undefined;
  private held: ServerFrame[] | undefined;

  constructor(private readonly deps: ScrollbackDeps) {}

  /** On every welcome; the first one prints the recent group messages. */
  welcome(seq: number): void {
    if (this.connectedAt !== undefined) return;
    this.connectedAt = seq;
    if (this.deps.onConnect > 0) void this.greet();
  }

  /** True when a live message must wait for the history printed on connecting. */
  hold(frame: ServerFrame): boolean {
    if (!this.held) return false;
    this.held.push(frame);
    return true;
  }

  /** `/history [user]`. */
  async show(peer: string | undefined): Promise<void> {
    const key = peer ?? '';
    const older = this.older.get(key) ?? { before: (this.connectedAt ?? 0) + 1 };
    if (older.end !== undefined) return this.deps.print(`* no older messages${peer === undefined ? '' : ` with ${peer}`}; ${older.end}`);
    const request: HistoryRequest = { type: 'history', before: older.before, limit: this.deps.onConnect || DEFAULT_PAGE, cid: this.deps.nextCid() };
    if (peer !== undefined) request.with = peer;
    const answer = await this.ask(request);
    if (answer.kind === 'refused') return this.deps.print(format.formatError(answer.error));
    this.print(key, answer.frame);
  }

  /** A `history` frame or a refusal for one of our requests; false when the cid is not ours. */
  answer(cid: string | undefined, answer: HistoryAnswer): boolean {
    const resolve = cid === undefined ? undefined : this.waiters.get(cid);
    if (!resolve) return false;
    this.waiters.delete(cid!);
    resolve(answer);
    return true;
  }

  /** A new socket is ready: requests sent on the old one are asked again. */
  lost(): void {
    for (const cid of [...this.waiters.keys()]) this.answer(cid, { kind: 'lost' });
  }

  private async greet(): Promise<void> {
    const held: ServerFrame[] = [];
    this.held = held;
    const answer = await this.ask({ type: 'history', before: this.connectedAt! + 1, limit: this.deps.onConnect, cid: this.deps.nextCid() });
    if (answer.kind === 'refused') this.deps.print(format.formatError(answer.error));
    else if (answer.frame.messages.length > 0 || answer.frame.expired) this.print('', answer.frame);
    this.held = undefined;
    for (const frame of held) this.deps.deliver(frame);
  }

  private print(key: string, frame: HistoryFrame): void {
    for (const line of format.formatHistory(frame)) this.deps.print(line);
    const first = frame.messages[0];
    if (!frame.more) this.older.set(key, { end: frame.expired ? 'older messages have expired' : 'start of the conversation' });
    else if (first) this.older.set(key, { before: first.id });
  }

  /**
   * Asks until answered. A request lost with its socket, or not sent because the socket was closing, is
   * answered `lost` when the next socket is ready (`lost()`), and asked again.
   */
  private async ask(request: HistoryRequest): Promise<Exclude<HistoryAnswer, { kind: 'lost' }>> {
    for (;;) {
      await this.deps.connection().whenReady();
      const answered = new Promise<HistoryAnswer>((resolve) => this.waiters.set(request.cid, resolve));
      this.deps.connection().send(request);
      const answer = await answered;
      if (answer.kind !== 'lost') return answer;
    }
  }
}
