/**
 * Shared set-up of the browser tests: one Chromium and one freshly built web client per test file,
 * and a real in-process node per describe block whose pages are checked for errors after each test.
 */
import { rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { launchChromium, signIn, type Person } from './chromium.ts';
import { startNode, type NodeOptions, type RunningNode } from './harness.ts';
import { buildWebClient } from './web-build.ts';

/** Short grace so tests see "away" turn into "offline" quickly. */
export const GRACE_MS = 1_500;

export interface Shared {
  browser: Browser;
  /** Directory of the built web client. */
  dist: string;
}

/** Builds the client and launches Chromium once for the calling test file. */
export function useChromium(): Shared {
  const shared = {} as Shared;
  beforeAll(async () => {
    const [dist, browser] = await Promise.all([buildWebClient(), launchChromium()]);
    shared.dist = dist;
    shared.browser = browser;
  }, 60_000);
  afterAll(async () => {
    await shared.browser?.close();
    if (shared.dist) rmSync(shared.dist, { recursive: true, force: true });
  });
  return shared;
}

/** A node for one describe block, plus sign-in that remembers every page for checks and cleanup. */
export function useNode(shared: Shared, env: NodeOptions['env'] = {}) {
  const ctx = { node: undefined as unknown as RunningNode, people: [] as Person[] };
  beforeAll(async () => {
    ctx.node = await startNode({ graceMs: GRACE_MS, staticRoot: shared.dist, env });
  });
  afterEach(async () => {
    const people = ctx.people.splice(0);
    for (const p of people) await p.context.close(); // a no-op for a context the test already closed
    expect(people.flatMap((p) => p.errors)).toEqual([]);
    expect(people.flatMap((p) => p.dialogs)).toEqual([]);
  });
  afterAll(async () => {
    await ctx.node?.close();
  });
  const join = async (name: string): Promise<Person> => {
    const p = await signIn(shared.browser, ctx.node.url, name);
    ctx.people.push(p);
    return p;
  };
  return { ctx, join };
}
