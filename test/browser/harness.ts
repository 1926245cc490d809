/**
 * Starts a real chat node in-process (the shared test helper, port 0) that also serves a built web
 * client from `staticRoot` through src/http/static.ts, mounted as extra routes.
 */
import { createStaticSite, staticRoutes } from '../../src/http/static.ts';
import type { Route } from '../../src/transport/types.ts';
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
  /** More routes, mounted before the static site and the node's own. */
  routes?: Route[];
}

export async function startNode(opts: NodeOptions): Promise<RunningNode> {
  const test = await startTestNode(
    { CHAT_GRACE_MS: String(opts.graceMs), ...opts.env },
    { extraRoutes: () => [...(opts.routes ?? []), ...staticRoutes(createStaticSite(opts.staticRoot))] },
  );
  return { url: test.url, test, close: () => test.close() };
}
