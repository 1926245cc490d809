/**
 * @module journal/history
 * The bounded message window (by count and age): what resume (`after=<id>`) and scrollback
 * (`history` / `GET /history`) serve. Besides the window in id order it keeps one index per
 * conversation: the group messages as their own sequence and, per unordered pair of users, that
 * pair's direct messages. A message leaving the window is always the oldest of its conversation, so
 * trimming an index is O(1), and a page of one conversation costs a binary search plus the page,
 * whatever the window size and the number of conversations.
 */
import type { MessageEvent } from '../domain/events.ts';
import type { Conversation, ConversationPage, HistoryLimits, HistoryPage } from './journal.ts';

/** An id-ordered run of messages that loses its oldest ones: an array with a moving start. */
class Run {
  items: MessageEvent[] = [];
  start = 0;
  /** Whether a message of this run ever left the window. */
  dropped = false;

  get length(): number {
    return this.items.length - this.start;
  }

  get oldest(): MessageEvent | undefined {
    return this.items[this.start];
  }

  shift(): void {
    this.start += 1;
    this.dropped = true;
    // Copy the live part once the dead prefix outweighs it: amortised O(1) per message, memory bounded.
    if (this.start >= 32 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

  /** Forgets the messages with id > id (they left the log: a rollback). */
  cutAbove(id: number): void {
    this.items.length = this.firstAbove(id);
  }

  /** Index of the first message with id > id (binary search: ids only grow). */
  firstAbove(id: number): number {
    let lo = this.start;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.id <= id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The key of a direct conversation: the two names in order (names never contain a space). */
export function pairKey(a: string, b: string): string {
  return a <= b ? `${a} ${b}` : `${b} ${a}`;
}

const keyOf = (message: MessageEvent): string => (message.type === 'GroupMessagePosted' ? '' : pairKey(message.from, message.to));

export class MessageWindow {
  private readonly all = new Run();
  /** '' → the group conversation; `pairKey(a, b)` → the direct one between a and b. */
  private readonly conversations = new Map<string, Run>();
  /**
   * Ids this window never saw: the journal it was filled from had already let them go (compacted), or it
   * forgot which conversations lost messages (more emptied conversations than `maxMessages`). Any
   * conversation may then have had older messages: a page reaching its start says `expired`.
   */
  private unknownBefore = false;
  private emptied = 0;
  private seenAny = false;

  constructor(
    private readonly limits: HistoryLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get length(): number {
    return this.all.length;
  }

  push(message: MessageEvent): void {
    if (!this.seenAny && message.id > 1) this.unknownBefore = true;
    this.seenAny = true;
    this.all.items.push(message);
    const key = keyOf(message);
    let run = this.conversations.get(key);
    if (run === undefined) {
      run = new Run();
      this.conversations.set(key, run);
    }
    run.items.push(message);
    if (this.all.length > this.limits.maxMessages) this.dropOldest();
    this.dropOld();
  }

  /**
   * Several nodes, after the shared log rolled back (`Fenced`): messages with id > `top` are no longer in the log,
   * so they leave the window here too — every node serves the same history, and a resume into that range is told
   * of the gap.
   */
  forgetAbove(top: number): void {
    this.all.cutAbove(top);
    for (const run of this.conversations.values()) run.cutAbove(top);
  }

  /** Messages with id > after, in id order, at most `limit`: the resume path. */
  page(after: number, limit = Number.POSITIVE_INFINITY): HistoryPage {
    this.dropOld();
    const first = this.all.oldest;
    if (first === undefined) return { messages: [], oldest: 0 };
    const from = this.all.firstAbove(after);
    return { messages: this.all.items.slice(from, from + limit), oldest: first.id };
  }

  /** Up to `limit` messages of one conversation with id < before, oldest first: the scrollback path. */
  conversation(conversation: Conversation, before: number, limit: number): ConversationPage {
    this.dropOld();
    const run = this.conversations.get(conversation.with === undefined ? '' : pairKey(conversation.user, conversation.with));
    if (run === undefined) return { messages: [], more: false, expired: this.unknownBefore };
    const end = run.firstAbove(before - 1);
    const from = Math.max(run.start, end - limit);
    const more = from > run.start;
    return { messages: run.items.slice(from, end), more, expired: !more && (run.dropped || this.unknownBefore) };
  }

  private dropOld(): void {
    const limit = this.now() - this.limits.maxAgeMs;
    for (let oldest = this.all.oldest; oldest !== undefined && oldest.ts < limit; oldest = this.all.oldest) this.dropOldest();
  }

  /** The oldest message leaves the window, and with it the oldest message of its conversation. */
  private dropOldest(): void {
    const message = this.all.oldest!;
    this.all.shift();
    const key = keyOf(message);
    const run = this.conversations.get(key)!;
    run.shift();
    if (run.length > 0 || key === '') return;
    // An emptied direct conversation stays as a marker that its messages expired, up to maxMessages of them.
    if (++this.emptied <= this.limits.maxMessages) return;
    for (const [other, left] of this.conversations) if (other !== '' && left.length === 0) this.conversations.delete(other);
    this.emptied = 0;
    this.unknownBefore = true;
  }
}
