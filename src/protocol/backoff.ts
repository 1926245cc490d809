/**
 * @module protocol/backoff
 * The reconnect backoff of both clients (console and web; docs/protocol.md: "reconnect with backoff"):
 * exponential, capped, jittered, reset once a connection proves stable. No imports, so the browser build
 * can use it too.
 */

export interface BackoffOptions {
  /** The first retry's ceiling, in ms; it doubles with each failure. */
  minMs: number;
  /** No delay ever exceeds this, in ms. */
  maxMs: number;
  /**
   * `full` (default): a uniform draw in [0, ceiling), the widest spread. `equal`: half the ceiling fixed,
   * half random, so no retry is ever instant (the web client's choice).
   */
  jitter?: 'full' | 'equal';
}

/** min(max, min·2^attempt): the ceiling of retry number `attempt` (0 = first retry). */
function ceiling(attempt: number, options: BackoffOptions): number {
  return Math.min(options.maxMs, options.minMs * 2 ** Math.min(Math.max(attempt, 0), 30));
}

/**
 * "Full jitter": a uniform draw in [0, ceiling), so many clients dropped by one node restart spread out
 * instead of coming back in lockstep. `random` returns [0, 1).
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  return Math.floor(random() * ceiling(attempt, options));
}

/** "Equal jitter": in [ceiling/2, ceiling], never instant. `random` returns [0, 1). */
export function equalJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const half = ceiling(attempt, options) / 2;
  return Math.round(half + random() * half);
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
    const draw = this.options.jitter === 'equal' ? equalJitterDelay : fullJitterDelay;
    const delay = draw(this.attempt, this.options, this.random);
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
