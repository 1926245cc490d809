/**
 * Scrollback survives restarts with the file journal, on a real node process: after SIGTERM, and
 * after the journal compacted itself online (CHAT_JOURNAL_MAX_BYTES) down to a snapshot plus the
 * window, `GET /history` serves the same pages, the start of a conversation is still told apart from
 * messages that left the window (CHAT_HISTORY_MAX), and a direct conversation stays visible to its two
 * ends only.
 */
import { describe, expect, it } from 'vitest';
import { journalNodes } from '../support/journal-node.ts';
import type { NodeProcess } from '../support/node-process.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const nodes = journalNodes({
  CHAT_JOURNAL_MAX_BYTES: '65536',
  CHAT_HISTORY_MAX: '20',
  CHAT_SESSION_SECRET: 's'.repeat(40),
  CHAT_RATE_PER_S: '100000',
  CHAT_RATE_BURST: '100000',
});
const { start } = nodes;

async function stop(node: NodeProcess): Promise<void> {
  node.child.kill('SIGTERM');
  expect(await node.exited).toEqual({ code: 0, signal: null });
}

async function token(node: NodeProcess, user: string): Promise<string> {
  return ((await (await fetch(`${node.url}/login/${user}`)).json()) as { token: string }).token;
}

async function online(node: NodeProcess, user: string): Promise<TestClient> {
  const client = await TestClient.connect(node.wsUrl, bearer(await token(node, user)));
  nodes.keepClient(client);
  await client.nextOfType('welcome');
  return client;
}

async function history(node: NodeProcess, user: string, query = ''): Promise<{ texts: string[]; more: boolean; expired: boolean }> {
  const response = await fetch(`${node.url}/history${query}`, { headers: bearer(await token(node, user)) });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { messages: Array<{ text: string }>; more: boolean; expired: boolean };
  return { texts: body.messages.map((message) => message.text.split(' ')[0]!), more: body.more, expired: body.expired };
}

describe('history across restarts (file journal)', () => {
  it('serves the window after restarts and an online compaction, and tells the start from expired messages', async () => {
    nodes.open('actor-chat-history-');
    const first = await start();
    const alice = await online(first, 'alice');
    await online(first, 'bob');
    alice.send({ type: 'direct', to: 'bob', text: 'psst' });
    for (let i = 1; i <= 5; i++) alice.send({ type: 'message', text: `m${i}` });
    await alice.sync();
    await stop(first);

    const second = await start();
    expect(await history(second, 'bob')).toEqual({ texts: ['m1', 'm2', 'm3', 'm4', 'm5'], more: false, expired: false });
    expect(await history(second, 'bob', '?with=alice')).toEqual({ texts: ['psst'], more: false, expired: false });
    expect(await history(second, 'carol', '?with=alice')).toEqual({ texts: [], more: false, expired: false });
    const writer = await online(second, 'alice');
    // 30 messages of 3 KB pass the 64 KB limit: the journal compacts to a snapshot plus the 20 in the window.
    for (let i = 6; i <= 35; i++) writer.send({ type: 'message', text: `m${i} ${'x'.repeat(3000)}` });
    await writer.sync();
    await second.waitForLog((line) => line.msg === 'journal compacted online');
    await stop(second);

    const third = await start();
    const expected = Array.from({ length: 20 }, (_, i) => `m${i + 16}`);
    expect(await history(third, 'bob', '?limit=200')).toEqual({ texts: expected, more: false, expired: true });
    expect(await history(third, 'bob', '?limit=15')).toEqual({ texts: expected.slice(5), more: true, expired: false });
    expect(await history(third, 'bob', '?with=alice')).toEqual({ texts: [], more: false, expired: true });
  });
});
