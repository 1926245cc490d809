/**
 * In-process chat node for tests: real uWebSockets.js server on 127.0.0.1, port 0, logs
 * captured in memory so tests can assert on parsed log lines.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.ts';
import { createChatNode, type ChatNode, type ChatNodeOptions } from '../../src/node.ts';

export interface TestNode {
  node: ChatNode;
  url: string;
  wsUrl: string;
  port: number;
  logs: Array<Record<string, unknown>>;
  login(user: string): Promise<{ user: string; token: string; expiresAt: number; cookie: string }>;
  close(): Promise<void>;
}

export async function startTestNode(env: Record<string, string> = {}, options: ChatNodeOptions = {}): Promise<TestNode> {
  const config = loadConfig({ CHAT_HOST: '127.0.0.1', CHAT_PORT: '0', CHAT_LOG_LEVEL: 'info', ...env });
  const logs: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: config.logLevel }, stream);
  const node = createChatNode(config, logger, options);
  const { port, url } = await node.start();
  return {
    node,
    url,
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    logs,
    async login(user) {
      const response = await fetch(`${url}/login/${encodeURIComponent(user)}`);
      if (response.status !== 200) throw new Error(`login ${user} failed: ${response.status} ${await response.text()}`);
      const body = (await response.json()) as { user: string; token: string; expiresAt: number };
      const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
      return { ...body, cookie };
    },
    close: () => node.stop(),
  };
}
