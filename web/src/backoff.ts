/**
 * Reconnect delays: exponential backoff with "equal jitter" (half fixed, half random), so a node
 * restart does not bring every browser back in the same millisecond, and no retry is ever instant.
 */

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000 };

/** Delay before reconnect attempt number `attempt` (0 = first retry). `random` returns [0, 1). */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random = Math.random): number {
  const exp = Math.min(opts.capMs, opts.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
