/**
 * Scrollback in the console client (a real client process against an in-process node): the last
 * `--history` group messages on connecting, before any live one; `/history` and `/history <user>`
 * page further back, each call older, until the start of the conversation or expired messages;
 * `--history 0` prints none.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClientProcess } from '../support/client-process.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import type { TestClient } from '../support/ws-client.ts';

const TIME = String.raw`\[\d\d:\d\d:\d\d\]`;
let node: TestNode;
const clients: TestClient[] = [];
const processes: ClientProcess[] = [];

afterEach(async () => {
  for (const client of processes.splice(0)) client.kill();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await node.close();
});

async function start(env: Record<string, string> = {}): Promise<void> {
  node = await startTestNode({ CHAT_RATE_PER_S: '100000', CHAT_RATE_BURST: '100000', ...env });
}

async function connect(user: string): Promise<TestClient> {
  const client = await node.connect(user);
  clients.push(client);
  return client;
}

async function post(client: TestClient, frames: object[]): Promise<void> {
  for (const frame of frames) client.send(frame);
  await client.sync();
}

function startClient(args: string[]): ClientProcess {
  const client = ClientProcess.start(['--url', node.url, ...args]);
  processes.push(client);
  return client;
}

/** The lines from the one matching `first` on, `count` of them. */
function linesFrom(client: ClientProcess, first: RegExp, count: number): string[] {
  const at = client.lines.findIndex((line) => first.test(line));
  return client.lines.slice(at, at + count).map((line) => line.replace(new RegExp(`^${TIME} `), ''));
}

describe('console client history', () => {
  it('prints the last --history group messages on connecting, then pages back with /history to the start', async () => {
    await start();
    const bob = await connect('bob');
    await post(bob, Array.from({ length: 5 }, (_, i) => ({ type: 'message', text: `m${i + 1}` })));
    const alice = startClient(['--user', 'alice', '--history', '2']);
    await alice.waitFor(/^\* connected as alice/);
    await alice.waitFor(/^\* 2 messages; \/history shows older ones$/);
    await alice.waitFor(new RegExp(`^${TIME} bob: m5$`));
    expect(linesFrom(alice, /^\* 2 messages;/, 3)).toEqual(['* 2 messages; /history shows older ones', 'bob: m4', 'bob: m5']);

    await post(bob, [{ type: 'message', text: 'live' }]);
    await alice.waitFor(new RegExp(`^${TIME} bob: live$`));
    alice.write('/history');
    await alice.waitFor(new RegExp(`^${TIME} bob: m3$`));
    expect(linesFrom(alice, /bob: m2$/, 2)).toEqual(['bob: m2', 'bob: m3']);
    alice.write('/history');
    await alice.waitFor(/^\* 1 message; start of the conversation$/);
    await alice.waitFor(new RegExp(`^${TIME} bob: m1$`));
    alice.write('/history');
    await alice.waitFor(/^\* no older messages; start of the conversation$/);
    expect(alice.count('bob: live')).toBe(1);
    expect(alice.count('bob: m4')).toBe(1);
  });

  it('pages a direct conversation with /history <user>, only the caller’s own', async () => {
    await start();
    const bob = await connect('bob');
    await connect('alice');
    await connect('carol');
    await post(bob, [
      { type: 'direct', to: 'alice', text: 'for alice 1' },
      { type: 'direct', to: 'carol', text: 'for carol' },
      { type: 'direct', to: 'alice', text: 'for alice 2' },
      { type: 'message', text: 'to all' },
    ]);
    const alice = startClient(['--user', 'alice', '--history', '0']);
    await alice.waitFor(/^\* connected as alice/);
    alice.write('/history bob');
    await alice.waitFor(/^\* 2 messages with bob; start of the conversation$/);
    await alice.waitFor(new RegExp(`^${TIME} bob → alice: for alice 2$`));
    expect(linesFrom(alice, /^\* 2 messages with bob/, 3)).toEqual(['* 2 messages with bob; start of the conversation', 'bob → alice: for alice 1', 'bob → alice: for alice 2']);
    alice.write('/history carol', '/history');
    await alice.waitFor(/^\* no older messages with carol; start of the conversation$/);
    await alice.waitFor(/^\* 1 message; start of the conversation$/);
    await alice.waitFor(new RegExp(`^${TIME} bob: to all$`));
    alice.write('/history not_a name');
    await alice.waitFor(/^! usage: \/history \[user\]$/);
    expect(alice.lines.some((line) => line.includes('for carol'))).toBe(false);
  });

  it('says older messages expired when the window let them go, and prints nothing with --history 0', async () => {
    await start({ CHAT_HISTORY_MAX: '3' });
    const bob = await connect('bob');
    await post(bob, Array.from({ length: 5 }, (_, i) => ({ type: 'message', text: `m${i + 1}` })));
    const alice = startClient(['--user', 'alice']);
    await alice.waitFor(/^\* 3 messages; older messages have expired$/);
    await alice.waitFor(new RegExp(`^${TIME} bob: m5$`));
    const quiet = startClient(['--user', 'carol', '--history', '0']);
    await quiet.waitFor(/^\* connected as carol/);
    quiet.write('/users');
    await quiet.waitFor(/^\* \d online/);
    expect(quiet.lines.some((line) => / bob: m\d$/.test(line))).toBe(false);
  });

  it('refuses a bad --history with exit code 2', async () => {
    await start();
    const client = startClient(['--user', 'alice', '--history', '201']);
    expect(await client.exited).toBe(2);
  });
});
