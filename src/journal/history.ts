/**
 * @module journal/history
 * The bounded message window (by count and age) that serves resume with `after=<id>`.
 * Ids only grow, so a lookup is a binary search.
 */
import type { MessageEvent } from '../domain/events.ts';
import type { HistoryLimits, HistoryPage } from './journal.ts';

export class MessageWindow {
  private items: MessageEvent[] = [];
  private start = 0;

  constructor(
    private readonly limits: HistoryLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get length(): number {
    return this.items.length - this.start;
  }

  push(message: MessageEvent): void {
    this.items.push(message);
    if (this.length > this.limits.maxMessages) this.start += 1;
    this.dropOld();
  }

  page(after: number, limit = Number.POSITIVE_INFINITY): HistoryPage {
    this.dropOld();
    const first = this.items[this.start];
    if (first === undefined) return { messages: [], oldest: 0 };
    const from = this.firstAfter(after);
    return { messages: this.items.slice(from, from + limit), oldest: first.id };
  }

  private firstAfter(after: number): number {
    let lo = this.start;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.id <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private dropOld(): void {
    const limit = this.now() - this.limits.maxAgeMs;
    while (this.start < this.items.length && this.items[this.start]!.ts < limit) this.start += 1;
    // Compact once the dead prefix outweighs the live part, so memory stays bounded.
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }
}
