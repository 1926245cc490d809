/**
 * Durable journal guarantees, on a real node process: the sequence continues after SIGKILL
 * mid-traffic (no id reused), revoked sessions stay revoked, the history window survives for
 * resume, and a torn tail is cut with a warning instead of stopping the node.
 */
import { appendFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { journalNodes } from '../support/journal-node.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { TestClient, bearer, type Frame } from '../support/ws-client.ts';

const nodes = journalNodes({
  CHAT_SESSION_SECRET: 's'.repeat(40),
  CHAT_RATE_PER_S: '100000',
  CHAT_RATE_BURST: '100000',
  CHAT_LOG_LEVEL: 'info',
});
const { start } = nodes;

async function login(node: NodeProcess, user: string): Promise<string> {
  const response = await fetch(`${node.url}/login/${user}`);
  return ((await response.json()) as { token: string }).token;
}

async function connect(node: NodeProcess, token: string, query = ''): Promise<TestClient> {
  const client = await TestClient.connect(`${node.wsUrl}${query}`, bearer(token));
  nodes.keepClient(client);
  return client;
}

const messageIds = (frames: Frame[]): number[] => frames.filter((f) => f.type === 'receive' || f.type === 'direct').map((f) => f.id as number);

describe('durable file journal', () => {
  it('survives SIGKILL mid-traffic: ids continue, revoked stays revoked, history resumes, torn tail is cut', async () => {
    nodes.open('actor-chat-journal-');
    const first = await start();
    const aliceToken = await login(first, 'alice');
    const bobToken = await login(first, 'bob');
    expect((await fetch(`${first.url}/logout/bob`, { headers: bearer(bobToken) })).status).toBe(200);
    const alice = await connect(first, aliceToken);
    await alice.nextOfType('welcome');
    for (let i = 0; i < 400; i++) alice.send({ type: 'message', text: `m${i}` });
    await alice.next((frame) => frame.type === 'receive' && (frame.id as number) >= 100);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    await alice.waitClosed();
    const seenBeforeCrash = messageIds(alice.frames);
    const highest = Math.max(...seenBeforeCrash);

    appendFileSync(nodes.journalPath(), '{"type":"GroupMessagePosted","id":99999,"fr');
    const second = await start();
    const warning = await second.waitForLog((line) => String(line.msg).includes('torn line'));
    expect(warning.droppedBytes).toBeGreaterThan(0);

    const revoked = await fetch(`${second.url}/list-users`, { headers: bearer(bobToken) });
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as { error: { code: string } }).error.code).toBe('session_revoked');

    const back = await connect(second, aliceToken, '?after=0');
    const welcome = await back.nextOfType('welcome');
    const seq = welcome.seq as number;
    expect(seq).toBeGreaterThanOrEqual(highest);
    back.send({ type: 'message', text: 'after the crash' });
    const fresh = await back.next((frame) => frame.type === 'receive' && frame.text === 'after the crash');
    expect(fresh.id).toBe(seq + 1);
    const replayed = messageIds(back.frames).filter((id) => id <= seq);
    expect(replayed).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    expect(seenBeforeCrash).toEqual(replayed.slice(0, seenBeforeCrash.length));
  });

  it('drains on SIGTERM: closes sockets with 1001, flushes, exits 0; clients resume on the restarted node', async () => {
    nodes.open('actor-chat-journal-');
    const first = await start();
    const token = await login(first, 'alice');
    const alice = await connect(first, token);
    await alice.nextOfType('welcome');
    alice.send({ type: 'message', text: 'before' });
    const before = await alice.nextOfType('receive');
    first.child.kill('SIGTERM');
    const closed = await alice.waitClosed();
    expect(closed.code).toBe(1001);
    expect(closed.reason).toMatch(/reconnect/);
    expect(await first.exited).toEqual({ code: 0, signal: null });

    const second = await start();
    const other = await connect(second, await login(second, 'bob'));
    await other.nextOfType('welcome');
    other.send({ type: 'message', text: 'while alice was away' });
    await other.nextOfType('receive');
    const back = await connect(second, token, `?after=${before.id as number}`);
    expect(await back.nextOfType('receive')).toMatchObject({ id: (before.id as number) + 1, text: 'while alice was away' });
  });
});
