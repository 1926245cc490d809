/**
 * @module runtime/grace-timers
 * The grace timers behind the supervisor's `armGrace` / `disarmGrace` actions: one timer per user on a
 * clock (real, or XState's SimulatedClock in replays), firing GRACE_EXPIRED back into the supervisor.
 * Kept outside XState's scheduler, whose cancel-on-stop scans every pending timer of the system.
 */

export interface TimerClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

export const realClock: TimerClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

export function graceTimers(clock: TimerClock, expire: (user: string) => void) {
  const timers = new Map<string, unknown>();
  const disarm = (user: string): void => {
    const timer = timers.get(user);
    if (timer === undefined) return;
    clock.clearTimeout(timer);
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
        timers.set(params.user, timer);
      },
      disarmGrace: (_: unknown, params: { user: string }): void => disarm(params.user),
    },
    /** Pending timers, for tests and metrics. */
    get pending(): number {
      return timers.size;
    },
    clear(): void {
      for (const user of [...timers.keys()]) disarm(user);
    },
  };
}
