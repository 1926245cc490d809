/**
 * Starts a real chat node in-process (the shared test helper, port 0) that also serves a built web
 * client from `staticRoot` through src/http/static.ts, mounted as extra routes.
 */
import { createStaticSite, staticRoutes } from '../../src/http/static.ts';
import { startTestNode, type TestNode } from '../support/node.ts';

export interface RunningNode {
  url: string;
  test: TestNode;
  close(): Promise<void>;
}

export interface NodeOptions {
  graceMs: number;
  staticRoot: string;
  /** More CHAT_* variables for the node's config. */
  env?: Record<string, string>;
}

export async function startNode(opts: NodeOptions): Promise<RunningNode> {
  const test = await startTestNode(
    { CHAT_GRACE_MS: String(opts.graceMs), ...opts.env },
    { extraRoutes: () => staticRoutes(createStaticSite(opts.staticRoot)) },
  );
  return { url: test.url, test, close: () => test.close() };
}
