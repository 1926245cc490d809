/**
 * @module transport/presence-batcher
 * Coalesces presence changes over a flush window: within a window a user's changes collapse
 * to the last, and a user who ends the window where they started is left out (no flap).
 * One frame per window instead of one per change per socket.
 */
import type { PresenceStatus } from '../domain/events.ts';
import type { PresenceChange } from '../protocol/server-frames.ts';

export class PresenceBatcher {
  /** user → [status at the start of the window, latest status] */
  private pending = new Map<string, [PresenceStatus, PresenceStatus]>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly flushMs: number,
    private readonly publish: (changes: PresenceChange[]) => void,
  ) {}

  add(user: string, before: PresenceStatus, after: PresenceStatus): void {
    const entry = this.pending.get(user);
    if (entry) entry[1] = after;
    else this.pending.set(user, [before, after]);
    this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const changes: PresenceChange[] = [];
    for (const [user, [first, last]] of this.pending) if (first !== last) changes.push({ user, status: last });
    this.pending = new Map();
    if (changes.length > 0) this.publish(changes);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
