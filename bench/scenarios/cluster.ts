/**
 * Two nodes on one Redis (`--engine=redis`): the clients split across them, the senders on node 1,
 * the latency probes on node 2, so every measured latency crosses nodes (node 1 appends, Redis orders,
 * node 2 reads the log and delivers). A short bounded ramp finds the max clean rate, then one step at
 * 80 % of it. Per step: each node's CPU per delivery to its own sockets, Redis CPU per message, p99, and
 * each load-generator process's CPU.
 *
 * The load generator is split: this process holds only the senders and the probes (it sends and times,
 * on one clock), and reader processes (`config.cluster.readerCores`, one per entry, pinned there) hold
 * the other sockets and only count frames. With no reader cores this process holds every socket.
 */
import { performance } from 'node:perf_hooks';
import { connectAll, loginAll, totalFrames, userNames, warmUp } from '../lib/clients.ts';
import { percentile, round, type ScenarioEnv } from '../lib/env.ts';
import { CLK_TCK, cpuMicros, type ServerProc, sleep } from '../lib/proc.ts';
import { cpuTimes } from '../lib/quiet.ts';
import type { RawWs } from '../lib/rawws.ts';
import { Reader } from '../lib/readers.ts';
import { NODE_TTL_MS } from '../lib/redis-engine.ts';
import { GENERATOR_BUSY_PCT, ramp, sendAtRate, settle, StepRecorder, timedText } from '../lib/steps.ts';

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
  /** the process that sends and times (senders and probes), % of one core */
  clientCpuPct: number;
  /** each reader process, % of one core (in the order of `readerCores`) */
  readerCpuPct: number[];
  /** per core (0, 1): our processes pinned there, % of that core (core 1: the nodes and any reader there) */
  coreCpuPct: [number, number];
  /** a core that runs a load-generator process was at GENERATOR_BUSY_PCT or more: the latency is partly the generator's */
  generatorBusy: boolean;
  clientLoopP99Ms: number;
  otherCpuPct: number;
  clean: boolean;
  retries?: number;
}

export interface ClusterResult {
  nodes: 2;
  clients: number;
  senders: number;
  /** sockets held by the sending and timing process (senders, probes) */
  timingSockets: number;
  /** the core each reader process was pinned to; empty: one process held every socket */
  readerCores: number[];
  /** the readers' niceness above the load generator's */
  readerNice: number;
  ttlMs: number;
  steps: ClusterStep[];
  maxCleanRate: number;
  at80: ClusterStep | null;
  firstError: string | null;
}

const ERROR_MARK = Buffer.from('"error"');
/** This process and the servers: pinned to these cores by the runner. */
const GENERATOR_CORE = 0;
const SERVER_CORE = 1;

interface Rig {
  env: ScenarioEnv;
  nodes: [ServerProc, ServerProc];
  redisPid: number;
  /** this process's sockets on node 1 (the senders), then on node 2 (the probes); every socket without readers */
  own: [RawWs[], RawWs[]];
  readers: Reader[];
  /** per reader, the node (0: node 1, 1: node 2) of each group of sockets it opened */
  nodeOfGroup: Array<Array<0 | 1>>;
  clients: number;
  senders: RawWs[];
  recorder: StepRecorder;
}

/** Frames received so far on node 1's and node 2's sockets, and how many sockets are closed. */
async function counts(rig: Rig): Promise<{ frames: [number, number]; closed: number }> {
  const frames: [number, number] = [totalFrames(rig.own[0]), totalFrames(rig.own[1])];
  let closed = [...rig.own[0], ...rig.own[1]].filter((ws) => ws.isClosed).length;
  const answers = await Promise.all(rig.readers.map((reader) => reader.counts()));
  for (const [r, answer] of answers.entries()) {
    for (const [group, count] of answer.frames.entries()) frames[rig.nodeOfGroup[r]?.[group] ?? 0] += count;
    closed += answer.closed;
  }
  return { frames, closed };
}

/** Until no frame arrived for 300 ms (bounded): a step never measures the previous one's backlog. */
async function drained(rig: Rig, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  let { frames } = await counts(rig);
  while (performance.now() < deadline && !rig.env.scope.aborted) {
    await sleep(300);
    const now = (await counts(rig)).frames;
    if (now[0] === frames[0] && now[1] === frames[1]) return;
    frames = now;
  }
}

async function runStep(rig: Rig, rate: number, index: number): Promise<ClusterStep> {
  const { env, nodes, readers } = rig;
  const { p99LimitMs, stepMs } = env.config.cluster;
  await settle(env, (maxMs) => drained(rig, maxMs));
  const base = (await counts(rig)).frames;
  rig.recorder.start();
  const pids = [nodes[0].pid, nodes[1].pid, rig.redisPid, ...readers.map((reader) => reader.pid)];
  const cpu0 = pids.map(cpuMicros);
  const machine0 = cpuTimes();
  const client0 = process.cpuUsage();
  const wall0 = performance.now();
  const { sent } = await sendAtRate(env.scope, rig.senders, rate, stepMs, (n) => env.target.messageFrame(timedText(), `k${index}-${n}`));
  const sendMs = performance.now() - wall0;
  const expected = sent * rig.clients;
  const drainUntil = performance.now() + Math.max(1000, 5 * p99LimitMs);
  let now = await counts(rig);
  const received = (): number => now.frames[0] - (base[0] as number) + now.frames[1] - (base[1] as number);
  while (received() < expected && performance.now() < drainUntil && !env.scope.aborted) {
    await sleep(10);
    now = await counts(rig);
  }
  const wallMs = performance.now() - wall0;
  const cpu = pids.map((pid, i) => cpuMicros(pid) - (cpu0[i] as number));
  const client = process.cpuUsage(client0);
  const machineUs = ((cpuTimes().busy - machine0.busy) * 1e6) / CLK_TCK;
  const { latencies: sorted, errors, loopP99Ms } = rig.recorder.stop();
  const got = [now.frames[0] - (base[0] as number), now.frames[1] - (base[1] as number)];
  const total = (got[0] as number) + (got[1] as number);
  const p99 = percentile(sorted, 99);
  const clientUs = client.user + client.system;
  const pct = (us: number): number => Math.round((us / 1000 / wallMs) * 100);
  const readerUs = cpu.slice(3);
  const onCore = (core: number): number => readerUs.filter((_, i) => readers[i]?.core === core).reduce((a, b) => a + b, 0);
  const coreCpuPct: [number, number] = [
    pct(clientUs + onCore(GENERATOR_CORE)),
    pct((cpu[0] as number) + (cpu[1] as number) + onCore(SERVER_CORE)),
  ];
  const generatorCores = new Set([GENERATOR_CORE, ...readers.map((reader) => reader.core)]);
  const ours = cpu.reduce((a, b) => a + b, 0) + clientUs;
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
    clientCpuPct: pct(clientUs),
    readerCpuPct: readerUs.map(pct),
    coreCpuPct,
    generatorBusy: coreCpuPct.some((load, core) => generatorCores.has(core) && load >= GENERATOR_BUSY_PCT),
    clientLoopP99Ms: loopP99Ms,
    otherCpuPct: Math.max(0, pct(machineUs - ours)),
    clean: total >= expected && now.closed === 0 && errors === 0 && p99 <= p99LimitMs && sorted.length > 0,
  };
}

/** The load generator's CPU: the sending and timing process, then each reader with its core. */
function generatorCpu(step: ClusterStep, readerCores: readonly number[]): string {
  const readers = step.readerCpuPct.map((pct, i) => `reader ${pct}% (core ${readerCores[i]})`);
  return [`senders+probes ${step.clientCpuPct}% (loop p99 ${step.clientLoopP99Ms} ms)`, ...readers].join(', ') + (step.generatorBusy ? ' — near saturation' : '');
}

/** `count` indices spread evenly over `0 … size − 1`, from 0. */
function spread(size: number, count: number): Set<number> {
  const every = Math.max(1, Math.floor(size / count));
  const picked = new Set<number>();
  for (let i = 0; picked.size < count && i < size; i += every) picked.add(i);
  return picked;
}

/**
 * Opens each node's sockets: the `timed` ones (by index) in this process, the others in the readers, shared in
 * turn; without readers, all of them here. Returns this process's sockets per node and each reader's groups' node.
 */
async function openSockets(
  env: ScenarioEnv,
  nodes: readonly [ServerProc, ServerProc],
  readers: readonly Reader[],
  byNode: readonly [string[], string[]],
  timed: readonly [Set<number>, Set<number>],
): Promise<{ own: [RawWs[], RawWs[]]; nodeOfGroup: Array<Array<0 | 1>> }> {
  const own: [RawWs[], RawWs[]] = [[], []];
  const nodeOfGroup: Array<Array<0 | 1>> = readers.map(() => []);
  for (const node of [0, 1] as const) {
    if (readers.length === 0) {
      own[node] = await connectAll(env.scope, env.target, nodes[node], byNode[node], 64);
      continue;
    }
    // In index order, a segment at a time (the readers' share of the others, then one timed socket), so that the
    // probes sit spread among node 2's sockets as when one process opened them all: uWS delivers a topic's message
    // to its subscribers ordered by their address, which mostly follows the order they were opened (allocation).
    let from = 0;
    for (const mark of [...[...timed[node]].sort((a, b) => a - b), byNode[node].length]) {
      const segment = byNode[node].slice(from, mark);
      await Promise.all(
        readers.map(async (reader, r) => {
          const share = segment.filter((_, i) => i % readers.length === r);
          if (share.length === 0) return;
          const group = await reader.connect(env.target.id, nodes[node].port, share, 64);
          (nodeOfGroup[r] as Array<0 | 1>)[group] = node;
        }),
      );
      const token = byNode[node][mark];
      if (token !== undefined) own[node].push(...(await connectAll(env.scope, env.target, nodes[node], [token], 1)));
      from = mark + 1;
    }
  }
  return { own, nodeOfGroup };
}

async function buildRig(env: ScenarioEnv): Promise<Rig> {
  const { clients, senders: senderCount, probes, readerCores, readerNice } = env.config.cluster;
  const redis = await env.startRedis();
  const nodes: [ServerProc, ServerProc] = [await env.start('all', {}, redis), await env.start('all', {}, redis)];
  for (const node of nodes) {
    const dropped = await warmUp(env.scope, env.target, node);
    if (dropped !== undefined) env.warn(dropped);
  }
  const readers = await Promise.all(readerCores.map((core) => Reader.start(env.scope, core, readerNice)));
  // A session from one node is good on the other (one CHAT_SESSION_SECRET): every client logs in on node 1.
  const tokens = await loginAll(env.scope, env.scope.pool(nodes[0], 16), userNames('k', clients));
  const half = Math.floor(clients / 2);
  const byNode: [string[], string[]] = [tokens.slice(0, half), tokens.slice(half)];
  // The senders are spread over node 1's clients, the probes over node 2's: this process holds them; the
  // readers hold the rest, shared out in turn (without readers, this process holds every socket).
  const timed: [Set<number>, Set<number>] = [spread(half, senderCount), spread(clients - half, probes)];
  const { own, nodeOfGroup } = await openSockets(env, nodes, readers, byNode, timed);
  const timedOn = (node: 0 | 1): RawWs[] => (readers.length === 0 ? [...timed[node]].map((i) => own[node][i] as RawWs) : own[node]);
  const recorder = new StepRecorder();
  const senders = timedOn(0);
  for (const ws of senders) ws.onData = recorder.errorWatch([ERROR_MARK]);
  for (const ws of timedOn(1)) ws.onData = recorder.probe();
  await sleep(env.config.quick ? 300 : 1000); // join presence settles on both nodes before measuring
  return { env, nodes, redisPid: redis.pid as number, own, readers, nodeOfGroup, clients, senders, recorder };
}

export async function cluster(env: ScenarioEnv): Promise<ClusterResult> {
  const rig = await buildRig(env);
  const { readerCores } = env.config.cluster;
  const describe = (step: ClusterStep): string =>
    `rate ${step.rate}/s: ${step.received}/${step.expected}, p50 ${step.p50Ms} ms, p99 ${step.p99Ms} ms (node 1 → node 2), ` +
    `node1 ${step.node1UsPerDelivery} µs/delivery, node2 ${step.node2UsPerDelivery}, redis ${step.redisUsPerMessage} µs/msg, ` +
    `load generator: ${generatorCpu(step, readerCores)}, others ${step.otherCpuPct}%${step.clean ? '' : ' ✗'}`;
  const { steps, maxCleanRate, at80 } = await ramp(env, { rates: env.config.cluster.rates, refinements: 1, run: (rate, index) => runStep(rig, rate, index), describe });
  return {
    nodes: 2,
    clients: rig.clients,
    senders: rig.senders.length,
    timingSockets: rig.own[0].length + rig.own[1].length,
    readerCores: [...readerCores],
    readerNice: env.config.cluster.readerNice,
    ttlMs: NODE_TTL_MS,
    steps,
    maxCleanRate,
    at80,
    firstError: rig.recorder.firstError,
  };
}
