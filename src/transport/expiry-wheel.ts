/**
 * @module transport/expiry-wheel
 * Sockets bucketed by their session's expiry second, so that each is closed with 4003 when its session
 * ends, even if it never sends again: one Set per second that has sockets, one periodic sweep
 * (`SWEEP_MS`) for the whole node, and a sweep before each message is delivered, so that a socket never
 * receives a message posted after its session ended. Costs a Set entry per socket, no timer per socket.
 */

/** How often the node sweeps: a socket is closed at most this long after its expiry (plus the loop's lag). */
export const SWEEP_MS = 250;

export class ExpiryWheel<S> {
  private readonly buckets = new Map<number, Set<S>>();
  /** The earliest expiry second with a bucket (Infinity when none): the common sweep is one comparison. */
  private earliest = Infinity;

  constructor(
    private readonly expired: (socket: S) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    let count = 0;
    for (const bucket of this.buckets.values()) count += bucket.size;
    return count;
  }

  /** `exp`: epoch seconds, as in the session token. */
  add(socket: S, exp: number): void {
    const bucket = this.buckets.get(exp);
    if (bucket) bucket.add(socket);
    else this.buckets.set(exp, new Set([socket]));
    if (exp < this.earliest) this.earliest = exp;
  }

  remove(socket: S, exp: number): void {
    const bucket = this.buckets.get(exp);
    if (!bucket) return;
    bucket.delete(socket);
    if (bucket.size === 0) this.buckets.delete(exp);
  }

  /** Calls `expired` for every socket whose expiry second has begun. */
  sweep(): void {
    const now = this.now();
    if (now < this.earliest * 1000) return;
    let earliest = Infinity;
    for (const [exp, bucket] of this.buckets) {
      if (exp * 1000 > now) {
        if (exp < earliest) earliest = exp;
        continue;
      }
      this.buckets.delete(exp);
      for (const socket of bucket) this.expired(socket);
    }
    this.earliest = earliest;
  }
}
