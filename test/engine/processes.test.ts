/**
 * RedisLog nodes as separate processes on one real redis-server: the same entries in the same order
 * in every process, and a process killed with SIGKILL declared down by the survivor after its TTL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonLines } from '../support/json-lines.ts';
import { RedisServer } from '../support/redis.ts';
import { messageIds, startNode, uniqueTag, type TestNode } from './helpers.ts';

const TTL = 400;
const fixture = fileURLToPath(new URL('./fixtures/log-node.ts', import.meta.url));
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface ChildNode {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  line(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

function spawnNode(url: string, tag: string, count: number): ChildNode {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, url, tag, String(TTL), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const lines = new JsonLines();
  child.stdout!.on('data', (chunk: Buffer) => lines.write(chunk));
  return { child, lines: lines.lines, line: (match) => lines.waitFor(match) };
}

describe('RedisLog across processes', () => {
  it('delivers the same entries in the same order to every process, and declares a killed process down', async () => {
    const redis = await RedisServer.start();
    cleanups.push(() => redis.close());
    const tag = uniqueTag();
    const here: TestNode = startNode({ url: redis.url }, { ttlMs: TTL, tag });
    cleanups.push(() => here.log.close());
    const children = [spawnNode(redis.url, tag, 200), spawnNode(redis.url, tag, 200)];
    await Promise.all(children.map((child) => child.line((line) => line.appended !== undefined)));
    expect(children.map((child) => child.lines.find((line) => line.appended !== undefined)?.appended)).toEqual([200, 200]);
    await here.until((entries) => messageIds(entries).length === 400);
    expect(messageIds(here.entries)).toEqual(Array.from({ length: 400 }, (_, index) => index + 1));
    const ids = here.entries.map((entry) => entry.id);
    for (const child of children) {
      await child.line((line) => line.entry === ids[ids.length - 1]);
      expect(child.lines.filter((line) => line.entry !== undefined).map((line) => line.entry)).toEqual(ids);
    }
    const victim = String(children[0]!.lines[0]!.node);
    children[0]!.child.kill('SIGKILL');
    await here.until((entries) => entries.some((entry) => entry.event.type === 'NodeDown'));
    expect(here.entries.find((entry) => entry.event.type === 'NodeDown')?.event).toMatchObject({ node: victim });
    await children[1]!.line((line) => line.type === 'NodeDown');
  }, 60_000); // two tsx processes start in several seconds on a loaded machine
});
