/**
 * `npm run replay` on a journal a real node compacted online while users were connected: the same client history
 * run on two real node processes, one compacting past CHAT_JOURNAL_MAX_BYTES in the middle and one not; both
 * journals replay with no divergence to the same actors, presence, sockets, sequence and state, which are the live
 * node's, and the compacted one reads as one online compaction, not a restart. The node restarts on it too.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ReplayResult } from '../../src/inspect/replay.ts';
import { journalNodes } from '../support/journal-node.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GRACE_MS = 60_000;
const nodes = journalNodes({ CHAT_SESSION_SECRET: 's'.repeat(40), CHAT_GRACE_MS: String(GRACE_MS), CHAT_JOURNAL_FSYNC: 'never', CHAT_LOG_LEVEL: 'debug' });
const { login, online } = nodes;

/** Closes `client` and waits for the node's log of it: its SocketClosed is journaled in that same turn. */
async function closeSocket(node: NodeProcess, client: TestClient, user: string): Promise<void> {
  const closes = () => node.logs.filter((line) => line.msg === 'socket closed' && line.user === user).length;
  const expected = closes() + 1;
  await client.close();
  await node.waitForLog(() => closes() >= expected);
}

/**
 * alice on two sockets, bob on one, carol logged in without one, dave in grace; alice posts 20 messages of 3,900
 * characters (past 64 KiB: a compacting node compacts, and the test waits for it); then bob posts, alice closes a
 * tab, dave comes back, erin passes through, bob leaves.
 */
async function history(node: NodeProcess, compacts: boolean): Promise<void> {
  const alice = await online(node, 'alice');
  const aliceTab = await online(node, 'alice');
  const bob = await online(node, 'bob');
  const dave = await online(node, 'dave');
  await login(node, 'carol');
  await closeSocket(node, dave, 'dave');
  const compacted = compacts ? node.waitForLog((line) => line.msg === 'journal compacted online') : undefined;
  for (let i = 1; i <= 20; i++) alice.send({ type: 'message', text: `${i} ${'x'.repeat(3900)}`, cid: `a${i}` });
  await alice.next((frame) => frame.cid === 'a20');
  await compacted;
  bob.send({ type: 'message', text: 'after the compaction', cid: 'b1' });
  await bob.next((frame) => frame.cid === 'b1');
  await closeSocket(node, aliceTab, 'alice');
  await online(node, 'dave');
  const erin = await online(node, 'erin');
  await closeSocket(node, erin, 'erin');
  await closeSocket(node, bob, 'bob');
}

/** `npm run replay -- <journal> --out`: what it printed and the result it wrote. */
async function replay(journal: string): Promise<{ stdout: string; result: ReplayResult }> {
  const out = `${journal}.replay.json`;
  const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/replay.ts', journal, '--grace-ms', String(GRACE_MS), '--out', out], { cwd: ROOT });
  return { stdout: run.stdout, result: JSON.parse(readFileSync(out, 'utf8')) as ReplayResult };
}

const rows = (result: ReplayResult) => result.users.filter((u) => u.actor !== 'none' || u.presence !== 'offline' || u.sockets > 0).map(({ sessions: _s, ...user }) => user);

describe('npm run replay on a journal compacted online by a real node', () => {
  it('reports what the same history uncompacted reports, with no divergence; the node restarts on it', async () => {
    nodes.open('actor-chat-replay-compacted-');
    const plainPath = join(nodes.dir(), 'plain.log');
    const plainNode = await nodes.start({ CHAT_JOURNAL: `file:${plainPath}` });
    await history(plainNode, false);
    const compactedNode = await nodes.start({ CHAT_JOURNAL_MAX_BYTES: '65536' });
    await history(compactedNode, true);
    const snapshot = readFileSync(nodes.journalPath(), 'utf8').split('\n').find((line) => line.startsWith('{"type":"Snapshot"'));
    expect(snapshot).toMatch(/"at":\d+,"graces":\[\[/);
    expect(plainNode.logs.some((line) => line.msg === 'journal compacted online')).toBe(false);

    const plain = await replay(plainPath);
    const compacted = await replay(nodes.journalPath());
    expect(plain.stdout).toContain('(0 restarts, 0 online compactions)');
    expect(compacted.stdout).toContain('(0 restarts, 1 online compactions)');
    expect(compacted.stdout).toMatch(/sessions: started since the online compaction at /);
    for (const { stdout, result } of [plain, compacted]) {
      expect(result.divergences).toEqual([]);
      expect(stdout).toContain('the machines reproduced every journaled fact');
    }
    expect(rows(compacted.result)).toEqual(rows(plain.result));
    expect(compacted.result.supervisor).toEqual(plain.result.supervisor);
    expect(compacted.result.state).toEqual(plain.result.state);
    expect(rows(compacted.result).map((u) => [u.user, u.actor, u.presence, u.sockets])).toEqual([
      ['alice', 'online', 'online', 1],
      ['bob', 'grace', 'grace', 0],
      ['carol', 'connecting', 'offline', 0],
      ['dave', 'online', 'online', 1],
      ['erin', 'grace', 'grace', 0],
    ]);
    expect(compacted.result.supervisor).toMatchObject({ seq: 21, listed: 4, online: 2, liveUserActors: 5 });
    // The live node lists the same users.
    const listed = (await (await fetch(`${compactedNode.url}/list-users`, { headers: bearer(await login(compactedNode, 'zed')) })).json()) as { users: unknown };
    expect(listed.users).toEqual(compacted.result.state.presence.map(([name, status]) => ({ name, status })));

    compactedNode.child.kill('SIGTERM');
    expect((await compactedNode.exited).code).toBe(0);
    const restarted = await nodes.start();
    const zed = nodes.keepClient(await TestClient.connect(restarted.wsUrl, bearer(await login(restarted, 'zed'))));
    expect((await zed.nextOfType('welcome')).seq).toBe(21);
  }, 120_000);
});
