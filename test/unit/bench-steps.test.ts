/**
 * The benchmark's stepped ramp (bench/lib/steps.ts), shared by the fan-out and cluster scenarios, on a
 * made-up server that is clean up to a given rate: the rates in order until one fails, the bisection,
 * the step at 80 % of the max clean rate, the retry of a failed step that other processes disturbed
 * (full runs only), and the probe that reads the send time carried in a message.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BenchConfig } from '../../bench/lib/env.ts';
import { ramp, rampBudgetMs, type RampStep, StepRecorder, timedText } from '../../bench/lib/steps.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** A server clean up to `limit` msg/s; `disturbed` lists the runs (by order) where others took the CPU. */
function server(limit: number, disturbed: number[] = []): { run: (rate: number, index: number) => Promise<RampStep>; runs: Array<[number, number]> } {
  const runs: Array<[number, number]> = [];
  return {
    runs,
    run: async (rate, index) => {
      runs.push([rate, index]);
      const noisy = disturbed.includes(runs.length);
      return { rate, clean: rate <= limit && !noisy, otherCpuPct: noisy ? 60 : 2 };
    },
  };
}

async function ramped(quick: boolean, limit: number, rates: number[], refinements: number, disturbed: number[] = []) {
  vi.useFakeTimers();
  const fake = server(limit, disturbed);
  const lines: string[] = [];
  const env = { config: { quick } as BenchConfig, log: (line: string) => lines.push(line) };
  const done = ramp(env, { rates, refinements, run: fake.run, describe: (step) => `${step.rate}${step.clean ? '' : ' ✗'}` });
  await vi.runAllTimersAsync();
  return { result: await done, runs: fake.runs, lines };
}

describe('the stepped ramp', () => {
  it('steps up until a rate fails, bisects once, then runs 80 % of the max clean rate', async () => {
    const { result, runs, lines } = await ramped(true, 1300, [400, 800, 1600, 3200], 1);
    expect(runs).toEqual([
      [400, 0],
      [800, 1],
      [1600, 2],
      [1200, 3],
      [960, 4],
    ]);
    expect(result.maxCleanRate).toBe(1200);
    expect(result.atMax?.rate).toBe(1200);
    expect(result.at80?.rate).toBe(960);
    expect(result.steps.map((step) => step.rate)).toEqual([400, 800, 1600, 1200]);
    expect(lines).toEqual(['400', '800', '1600 ✗', 'refining: 1200', 'at 80% of max: 960']);
  });

  it('bisects twice when asked, narrowing on a failed midpoint too', async () => {
    const { result } = await ramped(true, 1000, [400, 800, 1600], 2);
    // 1600 fails → 1200 fails → 1000 is clean
    expect(result.steps.map((step) => step.rate)).toEqual([400, 800, 1600, 1200, 1000]);
    expect(result.maxCleanRate).toBe(1000);
    expect(result.at80?.rate).toBe(800);
  });

  it('bisects below the first rate when it fails, and has no 80 % step when nothing was clean', async () => {
    const { result, runs } = await ramped(true, 100, [400, 800], 1);
    expect(runs).toEqual([
      [400, 0],
      [200, 1],
    ]);
    expect(result.maxCleanRate).toBe(0);
    expect(result.at80).toBeNull();
  });

  it('runs a failed step again when other processes disturbed it, in full runs only', async () => {
    const full = await ramped(false, 1000, [400, 800], 1, [2]);
    expect(full.runs.map(([rate]) => rate)).toEqual([400, 800, 800, 640]);
    expect(full.result.steps[1]).toMatchObject({ rate: 800, clean: true, retries: 1 });
    const quick = await ramped(true, 1000, [400, 800], 1, [2]);
    // the disturbed 800 counts as failed: the bisection runs 600, the max is 600
    expect(quick.runs.map(([rate]) => rate)).toEqual([400, 800, 600, 480]);
    expect(quick.result.maxCleanRate).toBe(600);
  });
});

describe('the time a ramp may take', () => {
  it('counts every step it can run (rates, bisections, the 80 % step) with its settling, sending and drain', () => {
    const quick = { quick: true } as BenchConfig;
    // 4 rates + 1 bisection + the 80 % step, each 1.5 s settling + 1.5 × 2 s sending + 1 s drain, and the setup
    expect(rampBudgetMs(quick, { rates: [400, 800, 1600, 3200], stepMs: 2000, p99LimitMs: 200 }, 1, 30_000)).toBe(30_000 + 6 * 5500);
    expect(rampBudgetMs({ quick: false } as BenchConfig, { rates: [400], stepMs: 2000, p99LimitMs: 400 }, 2, 0)).toBe(4 * (30_000 + 3000 + 2000));
  });
});

describe('the latency probe', () => {
  it('records receive − send from the time carried in the message, only while a step records', () => {
    const recorder = new StepRecorder();
    const onData = recorder.probe();
    // A message sent 5 s ago on this process's clock: the text starts `@<performance.now()>:`, as timedText() writes it.
    const text = timedText();
    expect(text).toMatch(/^@\d+\.\d{3}:x+$/);
    const sentAt = Number(text.slice(1, text.indexOf(':'))) - 5000;
    const frame = Buffer.from(`{"type":"receive","id":7,"text":"@${sentAt.toFixed(3)}:xx"}`);
    onData(frame, 0, frame.length); // before the step: not recorded
    recorder.start();
    onData(frame, 0, frame.length);
    onData(Buffer.from('{"type":"presence"}'), 0, 19); // no send time: not a sample
    const { latencies } = recorder.stop();
    onData(frame, 0, frame.length); // after the step: not recorded
    expect(latencies).toHaveLength(1);
    expect(latencies[0]).toBeGreaterThanOrEqual(5000);
    expect(latencies[0]).toBeLessThan(6000);
  });

  it('counts error frames on the senders and keeps the first', () => {
    const recorder = new StepRecorder();
    const onData = recorder.errorWatch([Buffer.from('"error"')]);
    recorder.start();
    for (const text of ['{"type":"receive"}', '{"type":"error","code":"rate_limited"}', '{"type":"error","code":"other"}']) {
      const buf = Buffer.from(text);
      onData(buf, 0, buf.length);
    }
    expect(recorder.stop().errors).toBe(2);
    expect(recorder.firstError).toContain('rate_limited');
  });
});
