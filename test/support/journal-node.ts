/**
 * A fixture for tests that run real node processes on a file journal: a fresh temp directory per
 * test (`open`), `start()` on `events.log` there, logins, and one `afterEach` that closes the
 * clients, SIGKILLs the nodes still running and removes the directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { spawnNode, type LaunchedNode, type LaunchOptions, type NodeProcess } from './node-process.ts';
import { TestClient, bearer } from './ws-client.ts';

export interface JournalNodes {
  /** Makes this test's temp directory, named after `prefix`. */
  open(prefix: string): void;
  dir(): string;
  journalPath(): string;
  /** The node's environment: the file journal, `base`, then `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Spawns a node on the journal and waits until it listens; stopped after the test. */
  start(extra?: Record<string, string>, options?: LaunchOptions): Promise<NodeProcess>;
  /** Logs `user` in (expecting 200) and returns the session token. */
  login(node: NodeProcess, user: string): Promise<string>;
  /** Logs `user` in and out again (both expecting 200); returns the now revoked token. */
  revokedSession(node: NodeProcess, user: string): Promise<string>;
  /** Logs `user` in, connects over WebSocket and waits for the welcome; closed after the test. */
  online(node: NodeProcess, user: string): Promise<TestClient>;
  /** Stops `node` after the test (for nodes launched by hand). */
  keepNode<T extends NodeProcess | LaunchedNode>(node: T): T;
  /** Closes `client` after the test. */
  keepClient(client: TestClient): TestClient;
}

export function journalNodes(base: Record<string, string>): JournalNodes {
  let dir: string | undefined;
  const running: Array<NodeProcess | LaunchedNode> = [];
  const clients: TestClient[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    for (const node of running.splice(0)) {
      node.child.kill('SIGKILL');
      await node.exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  const current = (): string => {
    if (!dir) throw new Error('journalNodes: call open() first');
    return dir;
  };
  const journalPath = (): string => join(current(), 'events.log');
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    CHAT_JOURNAL: `file:${journalPath()}`,
    ...base,
    ...extra,
  });
  const keepNode = <T extends NodeProcess | LaunchedNode>(node: T): T => {
    running.push(node);
    return node;
  };

  const login = async (node: NodeProcess, user: string): Promise<string> => {
    const response = await fetch(`${node.url}/login/${user}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { token: string }).token;
  };
  const keepClient = (client: TestClient): TestClient => {
    clients.push(client);
    return client;
  };

  return {
    open: (prefix) => {
      dir = mkdtempSync(join(tmpdir(), prefix));
    },
    dir: current,
    journalPath,
    env,
    start: async (extra = {}, options = {}) => keepNode(await spawnNode(env(extra), options)),
    login,
    revokedSession: async (node, user) => {
      const token = await login(node, user);
      expect((await fetch(`${node.url}/logout/${user}`, { headers: bearer(token) })).status).toBe(200);
      return token;
    },
    online: async (node, user) => {
      const client = keepClient(await TestClient.connect(node.wsUrl, bearer(await login(node, user))));
      await client.nextOfType('welcome');
      return client;
    },
    keepNode,
    keepClient,
  };
}
