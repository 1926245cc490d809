/**
 * In-process chat node for tests: real uWebSockets.js server on 127.0.0.1, port 0, logs
 * captured in memory so tests can assert on parsed log lines.
 */
import { Writable } from 'node:stream';
import { afterEach } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { assembleChatNode, type AssemblyOptions } from '../../src/assembly.ts';
import type { ChatNode } from '../../src/node.ts';
import { TestClient, bearer } from './ws-client.ts';
import type { Oidc } from '../../src/auth/oidc.ts';

/**
 * Assembled exactly as `npm start` assembles it (src/assembly.ts): `/auth/*` is always mounted; with
 * `CHAT_OIDC_ISSUER` in `env` the issuer is discovered first (give `CHAT_PUBLIC_URL` too: the redirect URI
 * registered at the IdP is built from it); `webRoot` serves a built web client.
 */
export type TestNodeOptions = AssemblyOptions;

export interface TestNode {
  node: ChatNode;
  url: string;
  wsUrl: string;
  port: number;
  /** The metrics listener's `GET /metrics` (loopback, any free port). */
  metricsUrl: string;
  /** The OIDC module when an issuer is configured. */
  oidc: Oidc | undefined;
  logs: Array<Record<string, unknown>>;
  login(user: string): Promise<{ user: string; token: string; expiresAt: number; cookie: string }>;
  /** Logs `user` in, opens a socket (with `query`, e.g. `?after=3`) and waits for its welcome. */
  connect(user: string, query?: string): Promise<TestClient>;
  close(): Promise<void>;
}

export async function startTestNode(env: Record<string, string> = {}, options: TestNodeOptions = {}): Promise<TestNode> {
  // Tests log many users in from loopback in a burst: the per-client-IP limits are off unless a test sets them.
  // The metrics listener takes any free loopback port (test files run in parallel).
  const loaded = loadConfig({
    CHAT_HOST: '127.0.0.1',
    CHAT_PORT: '0',
    CHAT_LOG_LEVEL: 'info',
    CHAT_LOGIN_RATE_PER_MIN: '0',
    CHAT_UPGRADE_RATE_PER_MIN: '0',
    CHAT_METRICS_PORT: '0',
    ...env,
  });
  const logs: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: loaded.logLevel }, stream);
  const { node, oidc } = await assembleChatNode(loaded, logger, options);
  const { port, url, metricsUrl } = await node.start();
  const wsUrl = `${loaded.tls ? 'wss' : 'ws'}://127.0.0.1:${port}/ws`;
  const testNode: TestNode = {
    node,
    url,
    port,
    metricsUrl: metricsUrl ?? '',
    oidc,
    wsUrl,
    logs,
    async connect(user, query = '') {
      const { token } = await testNode.login(user);
      const client = await TestClient.connect(`${wsUrl}${query}`, bearer(token));
      await client.nextOfType('welcome');
      return client;
    },
    async login(user) {
      const response = await fetch(`${url}/login/${encodeURIComponent(user)}`);
      if (response.status !== 200) throw new Error(`login ${user} failed: ${response.status} ${await response.text()}`);
      const body = (await response.json()) as { user: string; token: string; expiresAt: number };
      const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
      return { ...body, cookie };
    },
    close: () => node.stop(),
  };
  return testNode;
}

/**
 * For a test file with one node at a time: a `connect` that goes through the node's helper and keeps each
 * client, and an afterEach that closes those clients, then the node.
 */
export function connectClosingAfterEach(node: () => TestNode): (user: string, query?: string) => Promise<TestClient> {
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await node().close();
  });
  return async (user, query = '') => {
    const client = await node().connect(user, query);
    clients.push(client);
    return client;
  };
}
