/**
 * Model-based tests generated from the user machine with xstate/graph: one path per
 * transition (the shortest path to its source state, then the transition), each replayed
 * against a real node over real WebSockets. A second user watches presence; time moves
 * only through fake timers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { userMachine } from '../../src/machines/user.machine.ts';
import { transitionPaths, type ModelEvent } from './user-paths.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';
import { expectBobAsModelled } from './presence-watcher.ts';
import { ModelCoverage } from './coverage.ts';

const GRACE_MS = 10_000;
const FLUSH_MS = 50;

let node: TestNode;
let watcher: TestClient;
let bobToken: string;
let bobSockets: TestClient[];

async function perform(event: ModelEvent): Promise<void> {
  switch (event.type) {
    case 'SOCKET_OPENED': {
      const socket = await TestClient.connect(node.wsUrl, bearer(bobToken));
      await socket.nextOfType('welcome');
      bobSockets.push(socket);
      return;
    }
    case 'SOCKET_CLOSED':
      await bobSockets.pop()!.close();
      return;
    case 'LOGOUT': {
      const response = await fetch(`${node.url}/logout/bob`, { headers: bearer(bobToken) });
      expect(response.status).toBe(200);
      for (const socket of bobSockets.splice(0)) expect((await socket.waitClosed()).code).toBe(4001);
      return;
    }
    case 'GRACE_EXPIRED':
      // The node's grace timer fires: the grace period elapses on the fake clock.
      vi.advanceTimersByTime(GRACE_MS);
  }
}

/** Bob's status on `/list-users` is the one the model expects too. */
async function expectListed(status: string): Promise<void> {
  const list = (await fetch(`${node.url}/list-users`, { headers: bearer((await node.login('lister')).token) }).then((r) => r.json())) as {
    users: Array<{ name: string; status: string }>;
  };
  expect(list.users.find((user) => user.name === 'bob')?.status ?? 'offline', '/list-users').toBe(status);
}

const paths = transitionPaths();
/** Names of the paths replayed to their end (each path ends with the model edge it is named after). */
const replayed = new Set<string>();
/** The user machine's own states and transitions, as the node's live user actors took them. */
const coverage = new ModelCoverage([userMachine]);

describe('user machine, model-based against a real node', () => {
  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    node = await startTestNode(
      { CHAT_GRACE_MS: String(GRACE_MS), CHAT_PRESENCE_FLUSH_MS: String(FLUSH_MS), CHAT_LOG_LEVEL: 'warn' },
      { inspect: coverage.inspect },
    );
    watcher = await TestClient.connect(node.wsUrl, bearer((await node.login('watcher')).token));
    await watcher.nextOfType('welcome');
    bobToken = (await node.login('bob')).token;
    bobSockets = [];
  });

  afterEach(async () => {
    await Promise.all([...bobSockets, watcher].map((socket) => socket.close()));
    await node.close();
    vi.useRealTimers();
  });

  it('generates a path for every transition of the bounded model', () => {
    expect(paths.length).toBeGreaterThanOrEqual(9);
  });

  it.each(paths.map((path) => [path.name, path] as const))('%s', async (name, path) => {
    for (const step of path.steps) {
      await perform(step.event);
      await expectBobAsModelled(node, watcher, step.state, FLUSH_MS, expectListed);
    }
    replayed.add(name);
  });

  // Runs after the paths above (a file's tests run in order); alone (-t) it fails, as it should.
  it('covered every edge of the model and 100 % of the user machine on the node', () => {
    expect([...replayed].sort(), 'model edges replayed').toEqual(paths.map((path) => path.name).sort());
    expect(coverage.missing(), coverage.report()).toEqual([]);
    expect(coverage.summary()).toEqual([{ machine: 'user', states: [4, 4], transitions: [8, 8] }]);
  });
});
