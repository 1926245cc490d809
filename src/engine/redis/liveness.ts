/**
 * @module engine/redis/liveness
 * A node's heartbeat and its watch over the others. Every TTL/3 it renews its heartbeat key
 * (`SET … PX ttl`) and publishes the id it has applied (the log's trim stays below it); a heartbeat
 * or a tail read left unanswered for half a TTL means the link is stalled (a partition, a paused
 * proxy), so the generation is dropped — the node turns `unavailable` before the others may declare
 * it down. A node that has itself been connected for 2 × TTL proposes `NodeDown` for every node
 * listed up whose heartbeat key is gone; the append script checks that again atomically, so a node
 * that is alive is never declared down.
 */
import type { Logger } from 'pino';
import type { NodeId } from '../events.ts';
import type { Keys } from './codec.ts';
import type { Connection } from './connection.ts';
import { runScript } from './connection.ts';
import type { RedisLog } from './redis-log.ts';
import { SCRIPTS } from './scripts.ts';

/** How long a dead node's idempotency record outlives its last heartbeat. */
const IDEM_TTL_MS = 3_600_000;

/** The heartbeat script's keys and arguments: `node`'s key for `ttlMs`, listed up, `appliedId` published. */
export function heartbeatCall(keys: Keys, node: NodeId, ttlMs: number, appliedId: string): { keys: string[]; args: string[] } {
  return {
    keys: [keys.heartbeat(node), keys.nodes, keys.idem(node), keys.applied],
    args: [String(ttlMs), node, String(Math.max(IDEM_TTL_MS, ttlMs * 10)), appliedId],
  };
}

export class Liveness {
  private timer: NodeJS.Timeout | undefined;
  private generation = -1;
  private lastAck = 0;
  private readonly declaring = new Set<NodeId>();

  constructor(
    private readonly log: RedisLog,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Renews this node's heartbeat and publishes the last entry it applied, which holds the log's trim while
   * the node is listed up (also run once by every (re)connect before it is ready).
   */
  async beat(connection: Connection): Promise<void> {
    const { keys, args } = heartbeatCall(this.log.keys, this.log.node, this.ttlMs, this.log.appliedId);
    await runScript(connection, SCRIPTS.heartbeat, keys, args);
    this.lastAck = Date.now();
  }

  start(generation: number): void {
    this.stop();
    this.generation = generation;
    this.timer = setInterval(() => this.tick(), Math.max(Math.floor(this.ttlMs / 3), 5));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether this node may declare others down: connected (this generation) for 2 × TTL. */
  mayDeclare(now = Date.now()): boolean {
    return this.log.state === 'ready' && now - this.log.connectedAt >= 2 * this.ttlMs;
  }

  /** Why the link looks stalled now, if it does. */
  private stall(now: number): string | undefined {
    const stalled = Math.floor(this.ttlMs / 2);
    if (now - this.lastAck > stalled) return `heartbeat unanswered for ${now - this.lastAck} ms`;
    const tailBlock = Math.max(Math.floor(this.ttlMs / 3), 10);
    if (now - this.log.lastTailReply > tailBlock + stalled) return `tail read unanswered for ${now - this.log.lastTailReply} ms`;
    return undefined;
  }

  private tick(): void {
    const generation = this.generation;
    if (generation !== this.log.currentGeneration) return this.stop();
    const now = Date.now();
    if (this.stall(now) !== undefined) {
      // Timers run before I/O in an event-loop turn: after a stall of this process, the replies may be
      // waiting in the socket. Decide after this turn's I/O (setImmediate), not on the stale view.
      setImmediate(() => {
        const reason = this.stall(Date.now());
        if (reason !== undefined) this.log.fail(generation, new Error(reason), 'stall');
      });
      return;
    }
    const connection = this.log.currentConnection;
    if (connection === undefined) return;
    this.beat(connection).catch((error: Error) => this.log.fail(generation, error));
    this.log.pollTop(connection).catch((error: unknown) => this.logger.debug({ node: this.log.node, err: error }, 'log top poll failed'));
    if (this.mayDeclare(now)) void this.declareDead(now);
  }

  /** Proposes `NodeDown` for each node listed up whose heartbeat expired. */
  private async declareDead(now: number): Promise<void> {
    const { keys, node } = this.log;
    let listed: string[];
    try {
      listed = await this.log.command<string[]>(['HGETALL', keys.nodes]);
    } catch (error) {
      this.logger.debug({ node, err: error }, 'liveness scan skipped');
      return;
    }
    const candidates: NodeId[] = [];
    for (let index = 0; index + 1 < listed.length; index += 2) {
      const other = listed[index]!;
      if (other !== node && listed[index + 1] === 'up' && !this.declaring.has(other)) candidates.push(other);
    }
    const alive = await Promise.all(candidates.map((other) => this.log.command<number>(['EXISTS', keys.heartbeat(other)]).catch(() => 1)));
    const dead = candidates.filter((_, index) => alive[index] === 0);
    this.logger.debug({ node, watched: candidates.length, declared: dead.length }, 'liveness scan');
    dead.forEach((other) => {
      this.declaring.add(other);
      const { verdict } = this.log.propose({ type: 'NodeDown', node: other, by: node, at: now });
      void verdict.then((outcome) => {
        this.declaring.delete(other);
        if (outcome.status === 'committed') this.logger.warn({ node, down: other, id: outcome.id }, 'declared a node down: its heartbeat expired');
      });
    });
  }
}
