/**
 * The machine may be shared (other builds and test runs on the same two cores). Before each measured
 * part, wait until the cores are quiet, and report how busy they were, so noise shows in the results
 * instead of hiding in them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { CLK_TCK, cpuMicros, sleep } from './proc.ts';

/** Machine-wide CPU time in clock ticks (all cores): busy and total. */
export function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Share of all cores busy over `ms` (0–100), whoever is using them. */
export async function busyPercent(ms: number): Promise<number> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  return b.total === a.total ? 0 : Math.round(((b.busy - a.busy) / (b.total - a.total)) * 100);
}

/**
 * Waits (bounded) until the machine is at most `maxBusy` % busy while the benchmark itself is idle.
 * Returns the last reading.
 */
export async function waitForQuiet(maxBusy: number, maxWaitMs: number, log: (message: string) => void): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await busyPercent(300);
  let told = false;
  while (busy > maxBusy && Date.now() < deadline) {
    if (!told) log(`machine ${busy}% busy with other work: waiting up to ${Math.round(maxWaitMs / 1000)} s for it to calm down`);
    told = true;
    await sleep(700);
    busy = await busyPercent(300);
  }
  if (told) log(busy > maxBusy ? `still ${busy}% busy: measuring anyway (noted in the results)` : `quiet (${busy}% busy)`);
  return busy;
}

/**
 * Measures how much CPU other processes (not this one, not the server) used over a window, in %
 * of one core: the noise that a shared machine adds to a measurement.
 */
/** The kernel's softirq threads: on loopback they do the network work of the benchmark itself. */
function softirqPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('ksoftirqd')) pids.push(Number(entry));
    } catch {
      // the process ended while we looked: not a softirq thread
    }
  }
  return pids;
}

const SOFTIRQ = softirqPids();
function softirqMicros(): number {
  let sum = 0;
  for (const pid of SOFTIRQ) sum += cpuMicros(pid);
  return sum;
}

export class NoiseMeter {
  private machine = cpuTimes();
  private softirq = softirqMicros();
  private server: number;
  private client = process.cpuUsage();
  private wall = performance.now();
  private readonly pids: number[];

  /** `serverPid` and its helpers (a node's redis-server) are the measured work, not noise. */
  constructor(serverPid: number, ...helpers: Array<number | undefined>) {
    this.pids = [serverPid, ...helpers.filter((pid): pid is number => pid !== undefined)];
    this.server = this.serverMicros();
  }

  private serverMicros(): number {
    return this.pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  }

  /** Others' CPU since construction, % of one core (the kernel's softirq threads not counted). */
  otherPct(): number {
    const machineUs = ((cpuTimes().busy - this.machine.busy) * 1e6) / CLK_TCK - (softirqMicros() - this.softirq);
    const serverUs = this.serverMicros() - this.server;
    const client = process.cpuUsage(this.client);
    const wallUs = (performance.now() - this.wall) * 1000;
    return Math.max(0, Math.round(((machineUs - serverUs - client.user - client.system) / wallUs) * 100));
  }
}

/** Above this share of a core used by other processes, a measurement counts as disturbed. */
export const DISTURBED_PCT = 25;
