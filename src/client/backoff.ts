/** Reconnect delays: exponential backoff with full jitter, capped, reset once a connection proves stable. */

export interface BackoffOptions {
  /** Ceiling of the first retry's delay, in ms. */
  minMs: number;
  /** No delay ever exceeds this, in ms. */
  maxMs: number;
}

/**
 * "Full jitter": a uniform draw in [0, min(max, min·2^attempt)), so many clients dropped by one node
 * restart spread out instead of coming back in lockstep. `random` returns [0, 1).
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.minMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * ceiling);
}

/** Counts consecutive failures; `reset()` after a connection has stayed up long enough. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next retry; each call counts one more failure. */
  next(): number {
    const delay = fullJitterDelay(this.attempt, this.options, this.random);
    this.attempt += 1;
    return delay;
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** "1.2s" or "80ms": how long a retry waits, for humans. */
export function formatDelay(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`;
}
