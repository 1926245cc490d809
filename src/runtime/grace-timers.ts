/**
 * @module runtime/grace-timers
 * The grace timers behind the supervisor's `armGrace` / `disarmGrace` actions: one timer per user on a
 * clock (real, or XState's SimulatedClock in replays), firing GRACE_EXPIRED back into the supervisor.
 * Kept outside XState's scheduler, whose cancel-on-stop scans every pending timer of the system.
 * Each timer keeps when it is due (`now() + ms`), which an online compaction writes into its snapshot.
 */

export interface TimerClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export const realClock: TimerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

interface Pending {
  timer: unknown;
  /** When it fires, on `now`'s scale (epoch ms for the node). */
  due: number;
}

export function graceTimers(clock: TimerClock, expire: (user: string) => void, now: () => number = Date.now) {
  const timers = new Map<string, Pending>();
  const disarm = (user: string): void => {
    const pending = timers.get(user);
    if (pending === undefined) return;
    clock.clearTimeout(pending.timer);
    timers.delete(user);
  };
  return {
    actions: {
      armGrace: (_: unknown, params: { user: string; ms: number }): void => {
        disarm(params.user);
        const timer = clock.setTimeout(() => {
          timers.delete(params.user);
          expire(params.user);
        }, params.ms);
        // Timers must not keep a draining process alive.
        (timer as { unref?: () => void }).unref?.();
        timers.set(params.user, { timer, due: now() + params.ms });
      },
      disarmGrace: (_: unknown, params: { user: string }): void => disarm(params.user),
    },
    /** Pending timers, for tests and metrics. */
    get pending(): number {
      return timers.size;
    },
    /** Each user whose timer runs (a user actor connecting or in grace) and when it is due. */
    deadlines(): Array<[string, number]> {
      return [...timers].map(([user, { due }]) => [user, due]);
    },
    clear(): void {
      for (const user of [...timers.keys()]) disarm(user);
    },
  };
}
