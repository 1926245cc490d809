/**
 * Browser end-to-end tests of the web client's resilience: a node restart behind a relay (the page
 * keeps its origin) and a laptop sleep (a silently dead socket noticed through a page clock jump).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connected, message, say, signIn, type Person } from './chromium.ts';
import { startNode, type RunningNode } from './harness.ts';
import { GRACE_MS, useChromium } from './setup.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const shared = useChromium();

describe('web client across a node restart (in-memory history)', { timeout: 60_000 }, () => {
  const nodes: RunningNode[] = [];
  const people: Person[] = [];
  let relay: TcpProxy;

  afterAll(async () => {
    for (const p of people) await p.context.close(); // a no-op for a context the test already closed
    for (const n of nodes.splice(0)) await n.close();
    await relay?.close();
  });

  it('reconnects by itself, says history was lost, and shows new messages despite reused ids', async () => {
    relay = await startTcpProxy();
    // Same signing secret on both nodes so the session cookie stays valid; the page's origin is the relay.
    const env = { CHAT_SESSION_SECRET: 'browser-test-secret-'.repeat(3), CHAT_ALLOWED_ORIGINS: relay.url };
    const first = await startNode({ graceMs: GRACE_MS, staticRoot: shared.dist, env });
    nodes.push(first);
    relay.target = first.test.port;
    const alice = await signIn(shared.browser, relay.url, 'alice');
    const bob = await signIn(shared.browser, relay.url, 'bob');
    people.push(alice, bob);
    await say(bob.page, 'before the restart');
    await message(alice.page, 'before the restart').waitFor();

    relay.target = undefined;
    nodes.splice(0); // stopped here, so not again in afterAll
    await first.close();
    relay.dropAll();
    await alice.page.locator('body[data-conn="waiting"]').waitFor();
    const second = await startNode({ graceMs: GRACE_MS, staticRoot: shared.dist, env });
    nodes.push(second);
    relay.target = second.test.port;
    await connected(alice.page);
    await connected(bob.page);
    await alice.page.locator('#messages li.system', { hasText: 'The server restarted' }).waitFor();

    await say(bob.page, 'after the restart');
    await message(alice.page, 'after the restart').waitFor();
    const texts = await alice.page.locator('#messages li.msg[data-state="confirmed"] .msg-text').allTextContents();
    expect(texts).toEqual(['before the restart', 'after the restart']);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });
});

describe('web client after the computer slept', { timeout: 60_000 }, () => {
  const people: Person[] = [];
  let relay: TcpProxy;
  let node: RunningNode;

  afterAll(async () => {
    for (const p of people) await p.context.close(); // a no-op for a context the test already closed
    await node?.close();
    await relay?.close();
  });

  it('notices a socket that died silently and shows what it missed, once', async () => {
    relay = await startTcpProxy();
    node = await startNode({ graceMs: 60_000, staticRoot: shared.dist, env: { CHAT_ALLOWED_ORIGINS: relay.url } });
    relay.target = node.test.port;
    const context = await shared.browser.newContext({ baseURL: relay.url });
    const page = await context.newPage();
    // Page time runs normally, but the test can jump it forward the way a sleeping laptop does.
    await page.clock.install();
    await page.goto('/');
    await page.locator('#login-name').fill('ivy');
    await page.locator('#login-name').press('Enter');
    await connected(page);
    people.push({ name: 'ivy', context, page, dialogs: [], errors: [] });
    const jack = await signIn(shared.browser, node.url, 'jack'); // straight to the node: only ivy sleeps
    people.push(jack);
    await say(jack.page, 'before the nap');
    await message(page, 'before the nap').waitFor();

    relay.freezeAll();
    await say(jack.page, 'while you slept');
    await message(jack.page, 'while you slept').waitFor();
    expect(await message(page, 'while you slept').count()).toBe(0);

    // Wake up 30 s later: the page notices the time jump and probes the socket; no answer within
    // the probe timeout (5 s) means the socket is dead, so it reconnects and resumes with after=.
    await page.clock.fastForward('00:30');
    await page.clock.fastForward('00:06');
    await message(page, 'while you slept').waitFor();
    await connected(page);
    const texts = await page.locator('#messages li.msg[data-state="confirmed"] .msg-text').allTextContents();
    expect(texts).toEqual(['before the nap', 'while you slept']);
  });
});
