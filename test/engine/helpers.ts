/**
 * Helpers for the engine tests: RedisLog "nodes" in this process with an in-memory pino log, what
 * each one received from its tail, and waits on real events (a state, an entry, a log line).
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Committed, LogState } from '../../src/engine/log.ts';
import { RedisLog } from '../../src/engine/redis/redis-log.ts';
import type { RedisTarget } from '../../src/engine/redis/connection.ts';
import { JsonLines } from '../support/json-lines.ts';
import { RedisServer } from '../support/redis.ts';

export interface TestNode {
  log: RedisLog;
  entries: Committed[];
  lines: Array<Record<string, unknown>>;
  states: LogState[];
  /** Resolves when `match` holds for the received entries (checked on every batch). */
  until(match: (entries: Committed[]) => boolean): Promise<void>;
  /** Resolves when the node reaches `state` (at once if it is there). */
  reach(state: LogState): Promise<void>;
  /** Resolves on the first log line `match` accepts (past or future). */
  line(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

export function uniqueTag(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

/** A RedisLog node in this process, started at once unless `deferStart` (then the test calls `log.start()`). */
export function startNode(target: RedisTarget, options: { ttlMs: number; tag: string; node?: string; after?: string; deferStart?: boolean }): TestNode {
  const lines = new JsonLines();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.write(chunk);
      done();
    },
  });
  const log = new RedisLog({ target, ttlMs: options.ttlMs, tag: options.tag, logger: pino({ level: 'debug' }, stream), ...(options.node ? { node: options.node } : {}), ...(options.after ? { after: options.after } : {}) });
  const entries: Committed[] = [];
  const states: LogState[] = [];
  const entryWaiters: Array<{ match: (entries: Committed[]) => boolean; resolve: () => void }> = [];
  const stateWaiters: Array<{ state: LogState; resolve: () => void }> = [];
  log.onCommitted((batch) => {
    entries.push(...batch);
    for (const waiter of entryWaiters.filter((candidate) => candidate.match(entries))) {
      entryWaiters.splice(entryWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  log.onState((state) => {
    states.push(state);
    for (const waiter of stateWaiters.filter((candidate) => candidate.state === state)) {
      stateWaiters.splice(stateWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  if (!options.deferStart) log.start();
  return {
    log,
    entries,
    lines: lines.lines,
    states,
    until: (match) => (match(entries) ? Promise.resolve() : new Promise((resolve) => entryWaiters.push({ match, resolve }))),
    reach: (state) => (log.state === state ? Promise.resolve() : new Promise((resolve) => stateWaiters.push({ state, resolve }))),
    line: (match) => lines.waitFor(match),
  };
}

export function group(from: string, text: string): { type: 'GroupMessagePosted'; from: string; text: string; ts: number } {
  return { type: 'GroupMessagePosted', from, text, ts: Date.now() };
}

/** The message ids a node received, in the order it received them. */
export function messageIds(entries: readonly Committed[]): number[] {
  return entries.filter((entry) => entry.event.type === 'GroupMessagePosted' || entry.event.type === 'DirectMessagePosted').map((entry) => entry.seq);
}

/**
 * One redis-server for a whole test file (started before, killed after) and nodes on it that are
 * closed after each test. Call at the top of the file.
 */
export function redisForFile(ttlMs: number): {
  redis: () => RedisServer;
  start: (tag: string, after?: string) => TestNode;
  /** A node not started yet (the test calls `node.log.start(after?)`), closed after the test too. */
  create: (tag: string) => TestNode;
} {
  let redis: RedisServer | undefined;
  let nodes: TestNode[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.close();
  });
  afterEach(async () => {
    await Promise.all(nodes.map((node) => node.log.close()));
    nodes = [];
  });
  const server = (): RedisServer => {
    if (redis === undefined) throw new Error('redis-server is not started yet');
    return redis;
  };
  return {
    redis: server,
    start: (tag, after) => {
      const node = startNode({ url: server().url }, { ttlMs, tag, ...(after ? { after } : {}) });
      nodes.push(node);
      return node;
    },
    create: (tag) => {
      const node = startNode({ url: server().url }, { ttlMs, tag, deferStart: true });
      nodes.push(node);
      return node;
    },
  };
}
