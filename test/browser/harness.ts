/**
 * Starts a real chat node in-process (the shared test helper, port 0) that also serves a built web
 * client from `staticRoot` (its `webRoot`, served by src/http/static.ts as `npm start` serves web/dist).
 */
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
    { webRoot: opts.staticRoot },
  );
  return { url: test.url, test, close: () => test.close() };
}
