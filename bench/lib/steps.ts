/**
 * The stepped-rate measurement shared by the fan-out and cluster scenarios: senders paced every 5 ms,
 * probe sockets that read the send time carried in each message (`@<ms>:`, this process's
 * `performance.now()`, so send and receive use one clock), error frames counted, and the ramp itself:
 * rates in order until a step is not clean, bisection between the last clean and the first failed
 * rate, then one step at 80 % of the max clean rate.
 */
import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { Scope } from './clients.ts';
import type { BenchConfig, ScenarioEnv } from './env.ts';
import { sleep } from './proc.ts';
import { DISTURBED_PCT, waitForQuiet } from './quiet.ts';
import type { RawWs } from './rawws.ts';

const AT = 0x40; // '@'
const COLON = 0x3a;
const PAD = 'x'.repeat(24);

/** Above this share of its core a load-generator process is near saturation: its own queueing shows in the latency. */
export const GENERATOR_BUSY_PCT = 85;

/** The text of a timed message: its send time on this process's clock, then padding. */
export function timedText(): string {
  return `@${performance.now().toFixed(3)}:${PAD}`;
}

/** What a step recorded: probe latencies (sorted, ms), error frames, this process's event-loop delay. */
export interface Recorded {
  latencies: number[];
  errors: number;
  /** this process's own event-loop delay, p99 (ms): high means latency is partly the load generator's */
  loopP99Ms: number;
}

/** What the probe and sender sockets record during a step. */
export class StepRecorder {
  private readonly latencies: number[] = [];
  private recording = false;
  private errors = 0;
  private errorsAtStart = 0;
  private loop: IntervalHistogram | undefined;
  firstError: string | null = null;

  /** Starts a step: the latencies of the previous one are dropped. */
  start(): void {
    this.latencies.length = 0;
    this.errorsAtStart = this.errors;
    this.loop = monitorEventLoopDelay({ resolution: 5 });
    this.loop.enable();
    this.recording = true;
  }

  stop(): Recorded {
    this.recording = false;
    this.loop?.disable();
    return {
      latencies: this.latencies.slice().sort((a, b) => a - b),
      errors: this.errors - this.errorsAtStart,
      loopP99Ms: Math.round((this.loop?.percentile(99) ?? Number.NaN) / 1e5) / 10,
    };
  }

  /** An `onData` for a probe socket: receive − send of every timed message while recording (ms). */
  probe(): NonNullable<RawWs['onData']> {
    return (buf, start, end) => {
      if (!this.recording) return;
      const at = buf.indexOf(AT, start);
      if (at < 0 || at >= end) return;
      const colon = buf.indexOf(COLON, at);
      if (colon < 0 || colon >= end) return;
      this.latencies.push(performance.now() - Number(buf.toString('latin1', at + 1, colon)));
    };
  }

  /** An `onData` for a sender socket: counts the frames that hold one of `marks` (error frames). */
  errorWatch(marks: readonly Buffer[]): NonNullable<RawWs['onData']> {
    return (buf, start, end) => {
      const payload = buf.subarray(start, end);
      if (!marks.some((mark) => payload.indexOf(mark) >= 0)) return;
      this.errors++;
      this.firstError ??= buf.toString('utf8', start, Math.min(end, start + 300));
    };
  }
}

/**
 * Sends `rate` messages a second for `stepMs` from the senders in turn, paced every 5 ms, corked per tick
 * (bounded: 3 × stepMs). `frame(n)` is the n-th message. Lagging: the senders could not keep the pace.
 */
export async function sendAtRate(
  scope: Scope,
  senders: readonly RawWs[],
  rate: number,
  stepMs: number,
  frame: (n: number) => string,
): Promise<{ sent: number; lagging: boolean }> {
  const total = Math.max(1, Math.round((rate * stepMs) / 1000));
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(total, Math.floor((rate * elapsed) / 1000));
      for (const ws of senders) ws.cork();
      for (; sent < due; sent++) (senders[sent % senders.length] as RawWs).send(frame(sent));
      for (const ws of senders) ws.uncork();
      if (sent >= total || elapsed > stepMs * 3 || scope.aborted) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  return { sent, lagging: sent < total || performance.now() - started > stepMs * 1.25 };
}

/**
 * Before a step: the previous step's backlog gone (`drained`, bounded), then the machine quiet (bounded); without
 * it a step run right after an overloaded one (the 80 % step follows the failed ones) measures that one's queue.
 */
export async function settle(env: Pick<ScenarioEnv, 'config' | 'log'>, drained: (maxMs: number) => Promise<void>): Promise<void> {
  await drained(env.config.quick ? 1000 : 10_000);
  await waitForQuiet(DISTURBED_PCT, env.config.quick ? 500 : 20_000, env.log);
}

/**
 * How long a ramp of `rates` takes when each step runs once within its bounds (settling, sending, the drain),
 * plus `setupMs`: the runner's time-out must not cut a ramp that is only long (retries on a busy machine: `--timeout-s`).
 */
export function rampBudgetMs(
  config: Pick<BenchConfig, 'quick'>,
  ramp: { rates: readonly number[]; stepMs: number; p99LimitMs: number },
  refinements: number,
  setupMs: number,
): number {
  const settleMs = config.quick ? 1000 + 500 : 10_000 + 20_000;
  const stepMs = settleMs + 1.5 * ramp.stepMs + Math.max(1000, 5 * ramp.p99LimitMs);
  return setupMs + (ramp.rates.length + refinements + 1) * stepMs;
}

/** What the ramp needs of a step's result. */
export interface RampStep {
  rate: number;
  clean: boolean;
  /** CPU used by other processes on the machine during the step, % of one core */
  otherCpuPct: number;
  /** how often the step was run again because other processes disturbed it */
  retries?: number;
}

export interface RampOptions<S extends RampStep> {
  rates: readonly number[];
  /** bisection steps between the last clean and the first failed rate */
  refinements: number;
  /** runs one step; `index` numbers the steps (message ids stay unique) */
  run(rate: number, index: number): Promise<S>;
  describe(step: S): string;
}

/** A failed step during which others took more than DISTURBED_PCT of a core is run again, this often at most (not in quick runs). */
const RETRIES = 3;

type RampEnv = Pick<ScenarioEnv, 'config' | 'log'>;

export interface RampResult<S> {
  steps: S[];
  maxCleanRate: number;
  atMax: S | null;
  at80: S | null;
}

async function undisturbed<S extends RampStep>(env: RampEnv, options: RampOptions<S>, rate: number, index: number, label: string): Promise<S> {
  let step = await options.run(rate, index);
  for (let retry = 1; retry <= (env.config.quick ? 0 : RETRIES); retry++) {
    if (step.clean || step.otherCpuPct <= DISTURBED_PCT) break;
    env.log(`${label}${options.describe(step)}, disturbed by other processes (${step.otherCpuPct}%): again`);
    await sleep(500);
    step = { ...(await options.run(rate, index)), retries: retry };
  }
  env.log(`${label}${options.describe(step)}`);
  return step;
}

/** The ramp: rates in order until one is not clean, the bisection, then the step at 80 % of the max clean rate. */
export async function ramp<S extends RampStep>(env: RampEnv, options: RampOptions<S>): Promise<RampResult<S>> {
  const steps: S[] = [];
  let maxCleanRate = 0;
  let atMax: S | null = null;
  let failedRate = 0;
  for (const rate of options.rates) {
    const step = await undisturbed(env, options, rate, steps.length, '');
    steps.push(step);
    if (!step.clean) {
      failedRate = rate;
      break;
    }
    maxCleanRate = rate;
    atMax = step;
    await sleep(200);
  }
  for (let refine = 0; refine < options.refinements && failedRate > 0; refine++) {
    const mid = Math.round((maxCleanRate + failedRate) / 2 / 50) * 50;
    if (mid <= maxCleanRate || mid >= failedRate) break;
    const step = await undisturbed(env, options, mid, steps.length, 'refining: ');
    steps.push(step);
    if (step.clean) {
      maxCleanRate = mid;
      atMax = step;
    } else {
      failedRate = mid;
    }
    await sleep(200);
  }
  let at80: S | null = null;
  if (maxCleanRate > 0) {
    await sleep(300);
    at80 = await undisturbed(env, options, Math.round(maxCleanRate * 0.8), steps.length, 'at 80% of max: ');
  }
  return { steps, maxCleanRate, atMax, at80 };
}
