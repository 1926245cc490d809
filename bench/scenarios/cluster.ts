/**
 * Two nodes on one Redis (`--engine=redis`): the clients split across them, the senders on node 1,
 * the latency probes on node 2, so every measured latency crosses nodes (node 1 appends, Redis orders,
 * node 2 reads the log and delivers). A short bounded ramp finds the max clean rate, then one step at
 * 80 % of it. Per step: each node's CPU per delivery to its own sockets, Redis CPU per message, p99.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { connectAll, loginAll, totalFrames, userNames, warmUp } from '../lib/clients.ts';
import { percentile, round, type ScenarioEnv } from '../lib/env.ts';
import { CLK_TCK, cpuMicros, type ServerProc, sleep } from '../lib/proc.ts';
import type { RawWs } from '../lib/rawws.ts';
import { cpuTimes, DISTURBED_PCT, waitForQuiet } from '../lib/quiet.ts';
import { NODE_TTL_MS } from '../lib/redis-engine.ts';

export interface ClusterStep {
  rate: number;
  sent: number;
  expected: number;
  received: number;
  loss: number;
  errors: number;
  /** sender on node 1 → receiver on node 2 */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveriesPerSec: number;
  /** node CPU over the step ÷ deliveries to that node's own sockets */
  node1UsPerDelivery: number;
  node2UsPerDelivery: number;
  /** redis-server CPU over the step ÷ messages sent (one append each) */
  redisUsPerMessage: number;
  clientCpuPct: number;
  clientLoopP99Ms: number;
  otherCpuPct: number;
  clean: boolean;
}

export interface ClusterResult {
  nodes: 2;
  clients: number;
  senders: number;
  ttlMs: number;
  steps: ClusterStep[];
  maxCleanRate: number;
  at80: ClusterStep | null;
  firstError: string | null;
}

const AT = 0x40; // '@'
const COLON = 0x3a;
const ERROR_MARK = Buffer.from('"error"');
const PAD = 'x'.repeat(24);

interface Rig {
  env: ScenarioEnv;
  nodes: [ServerProc, ServerProc];
  redisPid: number;
  /** the sockets of node 1, then those of node 2 */
  on: [RawWs[], RawWs[]];
  senders: RawWs[];
  latencies: number[];
  recording: boolean;
  errors: number;
  firstError: string | null;
}

/** Sends `rate` messages a second for `stepMs` from the senders in turn, paced every 5 ms (bounded: 3 × stepMs). */
async function sendAtRate(rig: Rig, rate: number, step: number): Promise<number> {
  const { stepMs } = rig.env.config.cluster;
  const total = Math.max(1, Math.round((rate * stepMs) / 1000));
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.min(total, Math.floor((rate * elapsed) / 1000));
      for (const ws of rig.senders) ws.cork();
      for (; sent < due; sent++) {
        const ws = rig.senders[sent % rig.senders.length] as RawWs;
        ws.send(rig.env.target.messageFrame(`@${performance.now().toFixed(3)}:${PAD}`, `k${step}-${sent}`));
      }
      for (const ws of rig.senders) ws.uncork();
      if (sent >= total || elapsed > stepMs * 3 || rig.env.scope.aborted) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  return sent;
}

/** Until no frame arrived for 300 ms (bounded): a step never measures the previous one's backlog. */
async function drained(rig: Rig, maxMs: number): Promise<void> {
  const all = [...rig.on[0], ...rig.on[1]];
  const deadline = performance.now() + maxMs;
  let frames = totalFrames(all);
  while (performance.now() < deadline && !rig.env.scope.aborted) {
    await sleep(300);
    const now = totalFrames(all);
    if (now === frames) return;
    frames = now;
  }
}

async function runStep(rig: Rig, rate: number, index: number): Promise<ClusterStep> {
  const { env, nodes, on } = rig;
  const { p99LimitMs } = env.config.cluster;
  await drained(rig, env.config.quick ? 1000 : 10_000);
  await waitForQuiet(DISTURBED_PCT, env.config.quick ? 500 : 20_000, env.log);
  const base = [totalFrames(on[0]), totalFrames(on[1])];
  const errorsBefore = rig.errors;
  rig.latencies.length = 0;
  rig.recording = true;
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = [cpuMicros(nodes[0].pid), cpuMicros(nodes[1].pid), cpuMicros(rig.redisPid)];
  const machine0 = cpuTimes();
  const client0 = process.cpuUsage();
  const wall0 = performance.now();
  const sent = await sendAtRate(rig, rate, index);
  const sendMs = performance.now() - wall0;
  const expected = sent * (on[0].length + on[1].length);
  const received = (): number => totalFrames(on[0]) - (base[0] as number) + totalFrames(on[1]) - (base[1] as number);
  const drainUntil = performance.now() + Math.max(1000, 5 * p99LimitMs);
  while (received() < expected && performance.now() < drainUntil && !env.scope.aborted) await sleep(10);
  const wallMs = performance.now() - wall0;
  const cpu = [cpuMicros(nodes[0].pid), cpuMicros(nodes[1].pid), cpuMicros(rig.redisPid)].map((v, i) => v - (cpu0[i] as number));
  const client = process.cpuUsage(client0);
  const machineUs = ((cpuTimes().busy - machine0.busy) * 1e6) / CLK_TCK;
  loop.disable();
  rig.recording = false;
  const got = [totalFrames(on[0]) - (base[0] as number), totalFrames(on[1]) - (base[1] as number)];
  const total = (got[0] as number) + (got[1] as number);
  const sorted = rig.latencies.slice().sort((a, b) => a - b);
  const errors = rig.errors - errorsBefore;
  const closed = [...on[0], ...on[1]].filter((ws) => ws.isClosed).length;
  const p99 = percentile(sorted, 99);
  const clientUs = client.user + client.system;
  const ours = (cpu[0] as number) + (cpu[1] as number) + (cpu[2] as number) + clientUs;
  return {
    rate,
    sent,
    expected,
    received: total,
    loss: Math.max(0, expected - total),
    errors,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(p99),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
    deliveriesPerSec: Math.round(total / (sendMs / 1000)),
    node1UsPerDelivery: round((cpu[0] as number) / Math.max(1, got[0] as number), 3),
    node2UsPerDelivery: round((cpu[1] as number) / Math.max(1, got[1] as number), 3),
    redisUsPerMessage: round((cpu[2] as number) / Math.max(1, sent), 2),
    clientCpuPct: Math.round((clientUs / 1000 / wallMs) * 100),
    clientLoopP99Ms: round(loop.percentile(99) / 1e6, 1),
    otherCpuPct: Math.max(0, Math.round(((machineUs - ours) / 1000 / wallMs) * 100)),
    clean: total >= expected && closed === 0 && errors === 0 && p99 <= p99LimitMs && sorted.length > 0,
  };
}

function describe(step: ClusterStep): string {
  return (
    `rate ${step.rate}/s: ${step.received}/${step.expected}, p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms (node 1 → node 2), ` +
    `node1 ${step.node1UsPerDelivery} µs/delivery, node2 ${step.node2UsPerDelivery}, redis ${step.redisUsPerMessage} µs/msg, ` +
    `client cpu ${step.clientCpuPct}%, others ${step.otherCpuPct}%${step.clean ? '' : ' ✗'}`
  );
}

async function buildRig(env: ScenarioEnv): Promise<Rig> {
  const { clients, senders, probes } = env.config.cluster;
  const redis = await env.startRedis();
  const nodes: [ServerProc, ServerProc] = [await env.start('all', {}, redis), await env.start('all', {}, redis)];
  for (const node of nodes) {
    const dropped = await warmUp(env.scope, env.target, node);
    if (dropped !== undefined) env.warn(dropped);
  }
  // A session from one node is good on the other (one CHAT_SESSION_SECRET): every client logs in on node 1.
  const tokens = await loginAll(env.scope, env.scope.pool(nodes[0], 16), userNames('k', clients));
  const half = Math.floor(clients / 2);
  const on: [RawWs[], RawWs[]] = [
    await connectAll(env.scope, env.target, nodes[0], tokens.slice(0, half), 64),
    await connectAll(env.scope, env.target, nodes[1], tokens.slice(half), 64),
  ];
  const rig: Rig = { env, nodes, redisPid: redis.pid as number, on, senders: [], latencies: [], recording: false, errors: 0, firstError: null };
  const probeEvery = Math.max(1, Math.floor(on[1].length / probes));
  for (let i = 0; i < on[1].length; i += probeEvery) {
    (on[1][i] as RawWs).onData = (buf, start, end) => {
      if (!rig.recording) return;
      const at = buf.indexOf(AT, start);
      if (at < 0 || at >= end) return;
      const colon = buf.indexOf(COLON, at);
      if (colon < 0 || colon >= end) return;
      rig.latencies.push(performance.now() - Number(buf.toString('latin1', at + 1, colon)));
    };
  }
  const senderEvery = Math.max(1, Math.floor(on[0].length / senders));
  for (let i = 0; rig.senders.length < senders && i < on[0].length; i += senderEvery) {
    const ws = on[0][i] as RawWs;
    ws.onData = (buf, start, end) => {
      if (buf.subarray(start, end).indexOf(ERROR_MARK) < 0) return;
      rig.errors++;
      rig.firstError ??= buf.toString('utf8', start, Math.min(end, start + 300));
    };
    rig.senders.push(ws);
  }
  await sleep(env.config.quick ? 300 : 1000); // join presence settles on both nodes before measuring
  return rig;
}

export async function cluster(env: ScenarioEnv): Promise<ClusterResult> {
  const rig = await buildRig(env);
  const steps: ClusterStep[] = [];
  let maxClean = 0;
  let failed = 0;
  for (const rate of env.config.cluster.rates) {
    const step = await runStep(rig, rate, steps.length);
    env.log(describe(step));
    steps.push(step);
    if (!step.clean) {
      failed = rate;
      break;
    }
    maxClean = rate;
  }
  // One bisection step between the last clean rate and the first failed one.
  const mid = Math.round((maxClean + failed) / 2 / 50) * 50;
  if (failed > 0 && mid > maxClean && mid < failed) {
    const step = await runStep(rig, mid, steps.length);
    env.log(`refining: ${describe(step)}`);
    steps.push(step);
    if (step.clean) maxClean = mid;
  }
  let at80: ClusterStep | null = null;
  if (maxClean > 0) {
    at80 = await runStep(rig, Math.round(maxClean * 0.8), steps.length);
    env.log(`at 80% of max: ${describe(at80)}`);
  }
  return {
    nodes: 2,
    clients: rig.on[0].length + rig.on[1].length,
    senders: rig.senders.length,
    ttlMs: NODE_TTL_MS,
    steps,
    maxCleanRate: maxClean,
    at80,
    firstError: rig.firstError,
  };
}
