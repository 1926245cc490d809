/**
 * (a) Fan-out: N clients connected, S of them sending group messages at a stepped total rate until
 * a step loses messages or its p99 latency passes the limit. Every socket counts its frames; a few
 * probe sockets read the send time embedded in the text (`@<ms>:`) for latency; the server's CPU
 * time over the step divided by the deliveries gives µs per delivery.
 */
import { performance } from 'node:perf_hooks';
import { connectAll, loginAll, totalFrames, userNames, warmUp } from '../lib/clients.ts';
import { percentile, round, type ScenarioEnv } from '../lib/env.ts';
import { CLK_TCK, cpuMicros, type ServerProc, sleep } from '../lib/proc.ts';
import { cpuTimes } from '../lib/quiet.ts';
import type { RawWs } from '../lib/rawws.ts';
import { redisMicros } from '../lib/redis-engine.ts';
import { ramp, sendAtRate, settle, StepRecorder, timedText } from '../lib/steps.ts';

export interface FanoutStep {
  rate: number;
  sent: number;
  expected: number;
  received: number;
  loss: number;
  closed: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveriesPerSec: number;
  serverCpuMs: number;
  usPerDelivery: number;
  /** on the Redis engine: redis-server's CPU over the step, µs per message sent (one append each) */
  redisUsPerMessage?: number;
  clientCpuPct: number;
  /** the load generator's own event-loop delay, p99 (ms): high means latency is partly the client's */
  clientLoopP99Ms: number;
  /** CPU used by other processes on the machine during the step, % of one core (noise) */
  otherCpuPct: number;
  senderLagging: boolean;
  clean: boolean;
  /** how often the step was run again because other processes disturbed it */
  retries?: number;
}

export interface FanoutResult {
  clients: number;
  senders: number;
  steps: FanoutStep[];
  maxCleanRate: number;
  atMax: FanoutStep | null;
  at80: FanoutStep | null;
  firstError: string | null;
}

const ERROR_MARK = Buffer.from('"error"');
/** actor-chat's Socket.IO surface names the error frame's event `chat-error` (docs/protocol.md). */
const CHAT_ERROR_MARK = Buffer.from('"chat-error"');

interface Rig {
  env: ScenarioEnv;
  server: ServerProc;
  sockets: RawWs[];
  senders: RawWs[];
  recorder: StepRecorder;
}

/**
 * Waits (bounded) until a previous step's backlog is gone: no frame arrived for 300 ms and the server's CPU
 * clock moved at most one tick. Without it a step run right after an overloaded one (the 80 % step follows
 * the failed refinements) measures that step's queue, not its own rate.
 */
async function drained(rig: Rig, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  let frames = totalFrames(rig.sockets);
  let cpu = cpuMicros(rig.server.pid);
  while (performance.now() < deadline && !rig.env.scope.aborted) {
    await sleep(300);
    const nowFrames = totalFrames(rig.sockets);
    const nowCpu = cpuMicros(rig.server.pid);
    if (nowFrames === frames && nowCpu - cpu <= 1_000_000 / CLK_TCK) return;
    frames = nowFrames;
    cpu = nowCpu;
  }
}

async function runStep(rig: Rig, rate: number, step: number): Promise<FanoutStep> {
  const { env, server, sockets } = rig;
  const { stepMs, p99LimitMs } = env.config.fanout;
  await settle(env, (maxMs) => drained(rig, maxMs));
  const base = totalFrames(sockets);
  rig.recorder.start();
  const cpu0 = cpuMicros(server.pid);
  const redis0 = redisMicros(server);
  const machine0 = cpuTimes();
  const client0 = process.cpuUsage();
  const wall0 = performance.now();
  const { sent, lagging } = await sendAtRate(env.scope, rig.senders, rate, stepMs, (n) => env.target.messageFrame(timedText(), `c${step}-${n}`));
  const sendMs = performance.now() - wall0;
  const expected = sent * sockets.length;
  const drainUntil = performance.now() + Math.max(1000, 5 * p99LimitMs);
  while (totalFrames(sockets) - base < expected && performance.now() < drainUntil && !env.scope.aborted) await sleep(10);
  const wallMs = performance.now() - wall0;
  const cpuUs = cpuMicros(server.pid) - cpu0;
  const redisUs = redisMicros(server) - redis0;
  const client = process.cpuUsage(client0);
  const machine1 = cpuTimes();
  const received = totalFrames(sockets) - base;
  const { latencies: sorted, errors, loopP99Ms } = rig.recorder.stop();
  const loss = Math.max(0, expected - received);
  const closed = sockets.filter((ws) => ws.isClosed).length;
  const p99 = percentile(sorted, 99);
  const clientUs = client.user + client.system;
  const machineUs = ((machine1.busy - machine0.busy) * 1e6) / CLK_TCK;
  const otherCpuPct = Math.max(0, Math.round(((machineUs - cpuUs - redisUs - clientUs) / 1000 / wallMs) * 100));
  return {
    rate,
    sent,
    expected,
    received,
    loss,
    closed,
    errors,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(p99),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
    deliveriesPerSec: Math.round(received / (sendMs / 1000)),
    serverCpuMs: round(cpuUs / 1000, 1),
    usPerDelivery: round(cpuUs / Math.max(1, received), 3),
    ...(server.redisPid === undefined ? {} : { redisUsPerMessage: round(redisUs / Math.max(1, sent), 2) }),
    clientCpuPct: Math.round(((client.user + client.system) / 1000 / wallMs) * 100),
    clientLoopP99Ms: loopP99Ms,
    otherCpuPct,
    senderLagging: lagging,
    clean: loss === 0 && closed === 0 && errors === 0 && p99 <= p99LimitMs && sorted.length > 0,
  };
}

function describe(step: FanoutStep): string {
  return (
    `rate ${step.rate}/s: ${step.received}/${step.expected} delivered, p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms, ` +
    `${step.usPerDelivery} µs/delivery, client cpu ${step.clientCpuPct}% (loop p99 ${step.clientLoopP99Ms} ms), others ${step.otherCpuPct}%${step.clean ? '' : ' ✗'}`
  );
}

async function buildRig(env: ScenarioEnv): Promise<Rig> {
  const { clients, senders: senderCount, probes } = env.config.fanout;
  const server = await env.start('all');
  const dropped = await warmUp(env.scope, env.target, server);
  if (dropped !== undefined) env.warn(dropped);
  const tokens = await loginAll(env.scope, env.scope.pool(server, 16), userNames('f', clients));
  const sockets = await connectAll(env.scope, env.target, server, tokens, 64);
  const rig: Rig = { env, server, sockets, senders: [], recorder: new StepRecorder() };
  const probeEvery = Math.max(1, Math.floor(clients / probes));
  for (let i = 0; i < clients; i += probeEvery) (sockets[i] as RawWs).onData = rig.recorder.probe();
  const senderEvery = Math.max(1, Math.floor(clients / senderCount));
  for (let i = Math.floor(senderEvery / 2); rig.senders.length < senderCount && i < clients; i += senderEvery) {
    const ws = sockets[i] as RawWs;
    ws.onData = rig.recorder.errorWatch([ERROR_MARK, CHAT_ERROR_MARK]);
    rig.senders.push(ws);
  }
  await sleep(env.config.quick ? 200 : 1000); // let join presence settle before measuring
  return rig;
}

export async function fanout(env: ScenarioEnv): Promise<FanoutResult> {
  const rig = await buildRig(env);
  const { steps, maxCleanRate, atMax, at80 } = await ramp(env, { rates: env.config.fanout.rates, refinements: 2, run: (rate, index) => runStep(rig, rate, index), describe });
  return {
    clients: rig.sockets.length,
    senders: rig.senders.length,
    steps,
    maxCleanRate,
    atMax,
    at80,
    firstError: rig.recorder.firstError,
  };
}
