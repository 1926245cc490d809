/**
 * Several real chat nodes (`tsx src/main.ts`, test/support/node-process.ts) sharing one real
 * redis-server (test/support/redis.ts, AOF on) through `CHAT_ENGINE`, as operators run them: one
 * shared `CHAT_SESSION_SECRET`, a short `CHAT_NODE_TTL_MS`, `CHAT_GRACE_MS`, no metrics listener
 * (`CHAT_METRICS_PORT=0`: every node on one machine needs its own). Each node keeps its port for its
 * whole life, across restarts, so a load balancer configured with the ports finds it again.
 *
 * A node can be killed (SIGKILL), stopped (SIGTERM: it drains), started again, or added. Readiness is
 * the node's own `GET /readyz`, asked until it answers as awaited (a bounded loop of real requests).
 * `useClusters()` stops every node and the Redis of a test after it, passed or failed, and prints the
 * nodes' last log lines when it failed; the processes are also killed if the test worker exits.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, onTestFailed } from 'vitest';
import { freePort } from './free-port.ts';
import { spawnNode, type NodeProcess } from './node-process.ts';
import { RedisServer, type RedisOptions } from './redis.ts';

export interface ClusterOptions {
  /** Nodes started at once (default 3). */
  nodes?: number;
  /** `CHAT_NODE_TTL_MS` (default 1000: a dead node is declared down about a second after it died). */
  ttlMs?: number;
  /** `CHAT_GRACE_MS` (default 5000). */
  graceMs?: number;
  /** More environment for every node (the per-IP limits are off unless set here). */
  env?: Record<string, string>;
  redis?: RedisOptions;
}

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** One node's place in the cluster: its name and port stay; its process changes on each restart. */
export class ClusterNode {
  /** The running process, undefined while the node is down. */
  process: NodeProcess | undefined;
  /** The last process started, running or not (its logs outlive it). */
  last: NodeProcess | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** The log lines of the current (or last) process. */
  get logs(): Array<Record<string, unknown>> {
    return this.last?.logs ?? [];
  }

  get running(): boolean {
    return this.process !== undefined;
  }
}

const READY_POLL_MS = 25;

/** `GET /readyz` once: its status, or 0 when nothing answers (refused, reset, no answer within a second). */
export async function readyStatus(url: string): Promise<number> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0; // not listening (any more): as unready as it gets
  }
}

/** Asks `GET /readyz` until it answers `status` (200 ready, 503 unready, 0 gone), for at most `timeoutMs`. */
export async function waitForReadyz(url: string, status: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (let attempt = 0; attempt < timeoutMs / READY_POLL_MS + 1 && Date.now() < deadline; attempt++) {
    last = await readyStatus(url);
    if (last === status) return;
    await delay(READY_POLL_MS);
  }
  throw new Error(`${url}/readyz answered ${last} for ${timeoutMs} ms, not ${status}`);
}

export class Cluster {
  readonly nodes: ClusterNode[] = [];
  private closed = false;
  private places = 0;
  private readonly killOnExit = (): void => {
    for (const node of this.nodes) node?.process?.child.kill('SIGKILL');
    if (this.redis.pid !== undefined) process.kill(this.redis.pid, 'SIGKILL');
  };

  private constructor(
    readonly redis: RedisServer,
    private readonly options: Required<Omit<ClusterOptions, 'redis'>>,
    /** The secret every node signs and verifies sessions with. */
    readonly sessionSecret: string,
  ) {
    process.once('exit', this.killOnExit);
  }

  /** Starts Redis and `nodes` nodes, and waits until every node answers `/readyz` 200. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const redis = await RedisServer.start({ appendonly: 'yes', ...options.redis });
    const cluster = new Cluster(
      redis,
      { nodes: options.nodes ?? 3, ttlMs: options.ttlMs ?? 1000, graceMs: options.graceMs ?? 5000, env: options.env ?? {} },
      randomBytes(32).toString('base64url'),
    );
    try {
      // Settled, not raced: a node still starting when another failed must be in the list close() kills.
      const added = await Promise.allSettled(Array.from({ length: cluster.options.nodes }, () => cluster.add()));
      const failed = added.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      await cluster.waitAllReady();
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  /** The `index`th node (0-based), or an error naming the cluster's size. */
  node(index: number): ClusterNode {
    const node = this.nodes[index];
    if (!node) throw new Error(`no node ${index}: the cluster has ${this.nodes.length}`);
    return node;
  }

  /** What every node of this cluster runs with, plus `extra`. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      CHAT_ENGINE: this.redis.url,
      CHAT_SESSION_SECRET: this.sessionSecret,
      CHAT_NODE_TTL_MS: String(this.options.ttlMs),
      CHAT_GRACE_MS: String(this.options.graceMs),
      CHAT_METRICS_PORT: '0',
      CHAT_LOGIN_RATE_PER_MIN: '0',
      CHAT_UPGRADE_RATE_PER_MIN: '0',
      ...this.options.env,
      ...extra,
    };
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  get graceMs(): number {
    return this.options.graceMs;
  }

  /** A new node on a free port (another port is tried if that one is taken before the node binds it). */
  async add(extra: Record<string, string> = {}): Promise<ClusterNode> {
    // The place is taken now, so nodes added at once are named in call order: node1, node2…
    const index = this.places++;
    for (let attempt = 1; ; attempt++) {
      const node = new ClusterNode(`node${index + 1}`, await freePort());
      try {
        await this.launch(node, extra);
        this.nodes[index] = node;
        return node;
      } catch (error) {
        if (attempt >= 5 || !String((error as Error).message).includes('could not listen')) throw error;
      }
    }
  }

  /** Starts a stopped or killed node again, on its own port. Does not wait for `/readyz`. */
  async start(node: ClusterNode, extra: Record<string, string> = {}): Promise<void> {
    if (node.running) throw new Error(`${node.name} is already running`);
    await this.launch(node, extra);
  }

  /** SIGKILL: the node dies at once, its sockets reset, nothing flushed. */
  async kill(node: ClusterNode): Promise<Exit> {
    return this.signal(node, 'SIGKILL');
  }

  /** SIGTERM: the node drains (sockets closed with 1001) and exits. */
  async stop(node: ClusterNode): Promise<Exit> {
    return this.signal(node, 'SIGTERM');
  }

  readyz(node: ClusterNode): Promise<number> {
    return readyStatus(node.url);
  }

  /** Until `node` answers `/readyz` 200 (bounded by `timeoutMs`). */
  waitReady(node: ClusterNode, timeoutMs = 20_000): Promise<void> {
    return waitForReadyz(node.url, 200, timeoutMs);
  }

  /** Until `node` answers `/readyz` 503 (bounded by `timeoutMs`). */
  waitUnready(node: ClusterNode, timeoutMs = 20_000): Promise<void> {
    return waitForReadyz(node.url, 503, timeoutMs);
  }

  async waitAllReady(timeoutMs = 20_000): Promise<void> {
    await Promise.all(this.nodes.filter((node) => node.running).map((node) => this.waitReady(node, timeoutMs)));
  }

  /** The last `count` log lines of every node, for a failed test's output. */
  logTail(count = 15): string {
    return this.nodes.map((node) => `${node.name} (:${node.port}):\n${node.logs.slice(-count).map((line) => JSON.stringify(line)).join('\n')}`).join('\n');
  }

  /** Kills every node and Redis and removes Redis's data. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.nodes.filter((node) => node.running).map((node) => this.kill(node)));
    await this.redis.close();
    process.off('exit', this.killOnExit);
  }

  private async launch(node: ClusterNode, extra: Record<string, string>): Promise<void> {
    if (this.closed) throw new Error('the cluster is closed');
    const current = await spawnNode(this.env({ CHAT_PORT: String(node.port), ...extra }));
    node.process = node.last = current;
    // A node that dies by itself (a crash, a fatal exit) is no longer running either.
    void current.exited.then(() => {
      if (node.process === current) node.process = undefined;
    });
  }

  private async signal(node: ClusterNode, signal: NodeJS.Signals): Promise<Exit> {
    const current = node.process;
    if (!current) throw new Error(`${node.name} is not running`);
    current.child.kill(signal);
    const exit = await current.exited;
    if (node.process === current) node.process = undefined;
    return exit;
  }
}

/**
 * Registers an `afterEach` that closes every cluster started through the returned function during
 * the test, whether it passed or failed; a failed test prints the nodes' last log lines first.
 */
export function useClusters(): (options?: ClusterOptions) => Promise<Cluster> {
  const started: Cluster[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((cluster) => cluster.close()));
  });
  return async (options) => {
    const cluster = await Cluster.start(options);
    started.push(cluster);
    onTestFailed(() => console.error(`cluster log tail:\n${cluster.logTail()}`));
    return cluster;
  };
}
