/**
 * End-to-end tests of the web client in a real browser (Debian's Chromium via playwright-core)
 * against a real chat node started in-process on port 0, serving the freshly built client.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, bearer } from '../support/ws-client.ts';
import { connected, launchChromium, message, person, say, signIn, type Person } from './chromium.ts';
import { startNode, type NodeOptions, type RunningNode } from './harness.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { buildWebClient } from './web-build.ts';
import { createStaticSite, staticRoutes } from '../../src/http/static.ts';
import { startIdp, type Idp } from '../support/idp.ts';
import { startTestNode, type TestNode } from '../support/node.ts';

const GRACE_MS = 1_500;
const repo = resolve(import.meta.dirname, '../..');

let browser: Browser;
let dist: string;

beforeAll(async () => {
  const [built, launched] = await Promise.all([buildWebClient(), launchChromium()]);
  dist = built;
  browser = launched;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

/** A node for one describe block, plus sign-in that remembers every page for checks and cleanup. */
function useNode(env: NodeOptions['env'] = {}) {
  const ctx = { node: undefined as unknown as RunningNode, people: [] as Person[] };
  beforeAll(async () => {
    ctx.node = await startNode({ graceMs: GRACE_MS, staticRoot: dist, env });
  });
  afterEach(async () => {
    const people = ctx.people.splice(0);
    for (const p of people) await p.context.close().catch(() => undefined);
    expect(people.flatMap((p) => p.errors)).toEqual([]);
    expect(people.flatMap((p) => p.dialogs)).toEqual([]);
  });
  afterAll(async () => {
    await ctx.node?.close();
  });
  const join = async (name: string): Promise<Person> => {
    const p = await signIn(browser, ctx.node.url, name);
    ctx.people.push(p);
    return p;
  };
  return { ctx, join };
}

describe('web client in Chromium', { timeout: 60_000 }, () => {
  const { join } = useNode();

  it('lets two people see each other and talk in the group and in private', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    await person(alice.page, 'people', 'bob', 'online').waitFor();
    await person(bob.page, 'people', 'alice', 'online').waitFor();

    await say(alice.page, 'Hi everyone! Anyone around?');
    await message(bob.page, 'Hi everyone! Anyone around?').waitFor();
    await message(alice.page, 'Hi everyone! Anyone around?').waitFor();
    await say(bob.page, 'Hey Alice, the new node is fast.');
    await message(alice.page, 'Hey Alice, the new node is fast.').waitFor();

    await person(bob.page, 'people', 'alice').locator('button').click();
    await bob.page.locator('#conv-title', { hasText: 'alice' }).waitFor();
    await say(bob.page, 'Psst, lunch at noon?');
    await message(bob.page, 'Psst, lunch at noon?').waitFor();
    const dm = person(alice.page, 'dm', 'bob');
    await dm.locator('.badge', { hasText: '1' }).waitFor();
    expect(await message(alice.page, 'Psst, lunch at noon?').count()).toBe(0);

    await say(alice.page, 'Group messages and direct messages live in separate conversations.');
    await message(alice.page, 'Group messages and direct messages live in separate conversations.').waitFor();
    await alice.page.locator('#composer-input').blur();
    mkdirSync(resolve(repo, 'test-artifacts'), { recursive: true });
    const shot = resolve(repo, 'test-artifacts/two-users.png');
    await alice.page.screenshot({ path: shot });
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, resolve(repo, 'docs/screenshot.png'));

    await dm.locator('button').click();
    await message(alice.page, 'Psst, lunch at noon?').waitFor();
    await dm.locator('.badge').waitFor({ state: 'hidden' });
    await say(alice.page, 'Sure!');
    await message(bob.page, 'Sure!').waitFor();
    expect(await bob.page.locator('#messages li.msg').count()).toBe(2);
  });

  it('renders injected markup as text and wraps a very long message', async () => {
    const carol = await join('carol');
    const dave = await join('dave');
    const attack = '<script>alert(1)</script><img src=x onerror="alert(2)">';
    await say(carol.page, attack);
    const received = message(dave.page, attack);
    await received.waitFor();
    expect(await received.locator('.msg-text').textContent()).toBe(attack);
    expect(await dave.page.locator('#messages script, #messages img').count()).toBe(0);

    const long = 'x'.repeat(3000);
    await say(carol.page, long);
    const row = message(dave.page, long);
    await row.waitFor();
    const rowBox = await row.boundingBox();
    const listBox = await dave.page.locator('#messages').boundingBox();
    expect(rowBox && listBox && rowBox.width <= listBox.width).toBe(true);
  });

  it('shows a person away during grace, then offline, and retries a refused direct message', async () => {
    const erin = await join('erin');
    let frank = await join('frank');
    await person(erin.page, 'people', 'frank', 'online').locator('button').click();
    await erin.page.locator('#conv-sub', { hasText: 'online' }).waitFor();

    await frank.context.close();
    await person(erin.page, 'people', 'frank', 'grace').locator('.status', { hasText: 'away' }).waitFor();
    await erin.page.locator('#conv-sub', { hasText: 'away' }).waitFor();
    await person(erin.page, 'people', 'frank').waitFor({ state: 'detached' });
    await person(erin.page, 'dm', 'frank', 'offline').waitFor();

    await say(erin.page, 'Are you there?');
    const failed = message(erin.page, 'Are you there?', 'failed');
    await failed.locator('.error-text', { hasText: 'user_offline' }).waitFor();

    frank = await join('frank');
    await person(erin.page, 'dm', 'frank', 'online').waitFor();
    await failed.getByRole('button', { name: 'Retry' }).focus();
    await erin.page.keyboard.press('Enter');
    await message(erin.page, 'Are you there?').waitFor();
    await person(frank.page, 'dm', 'erin').locator('.badge', { hasText: '1' }).waitFor();
  });

  it('reconnects by itself and shows the messages it missed, in order, once', async () => {
    const gina = await join('gina');
    const hank = await join('hank');
    await gina.context.setOffline(true);
    await gina.page.locator('body[data-conn="waiting"]').waitFor();
    const missed = ['missed one', 'missed two', 'missed three'];
    for (const text of missed) {
      await say(hank.page, text);
      await message(hank.page, text).waitFor();
    }
    await say(gina.page, 'typed while offline');
    await message(gina.page, 'typed while offline', 'failed').waitFor();

    await gina.context.setOffline(false);
    await connected(gina.page);
    await message(gina.page, 'missed three').waitFor();
    const texts = await gina.page.locator('#messages li.msg[data-state="confirmed"] .msg-text').allTextContents();
    expect(texts).toEqual(missed);

    await message(gina.page, 'typed while offline', 'failed').getByRole('button', { name: 'Retry' }).click();
    await message(hank.page, 'typed while offline').waitFor();
    await message(gina.page, 'typed while offline').waitFor();
  });

  it('can be used with the keyboard alone', async () => {
    const ivy = await join('ivy');
    const { page } = await join('jack');
    await person(page, 'people', 'ivy').waitFor();
    await page.locator('#composer-input').focus();
    for (let i = 0; i < 30; i += 1) {
      await page.keyboard.press('Shift+Tab');
      const on = await page.evaluate('document.activeElement?.closest("li")?.dataset.user ?? null');
      if (on === 'ivy') break;
    }
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.locator('#conv-title', { hasText: 'ivy' }).waitFor();
    expect(await page.evaluate('document.activeElement?.id')).toBe('composer-input');
    await page.keyboard.type('sent with the keyboard');
    await page.keyboard.press('Enter');
    await message(page, 'sent with the keyboard').waitFor();
    await person(ivy.page, 'dm', 'jack').locator('.badge', { hasText: '1' }).waitFor();
  });

  it('signs out with the logout button and shows the others that person offline at once', async () => {
    const kim = await join('kim');
    const leo = await join('leo');
    await person(leo.page, 'people', 'kim', 'online').waitFor();
    await kim.page.getByRole('button', { name: 'Log out' }).click();
    await kim.page.locator('#login-view:not([hidden])').waitFor();
    await kim.page.getByText('You have logged out.').waitFor();
    await person(leo.page, 'people', 'kim').waitFor({ state: 'detached' });
  });
  it('sends every window of a person back to sign-in when one of them logs out', async () => {
    const mia = await join('mia');
    const second = await mia.context.newPage();
    await second.goto('/');
    await connected(second);
    await second.locator('#me-name', { hasText: 'mia' }).waitFor();
    await second.getByRole('button', { name: 'Log out' }).click();
    await mia.page.locator('#login-view:not([hidden])').waitFor();
    await mia.page.getByText('You have logged out (in this or another window).').waitFor();
  });
});

describe('web client with a long people list', { timeout: 60_000 }, () => {
  const { ctx, join } = useNode({ CHAT_WELCOME_USERS: '5', CHAT_PAGE_SIZE: '5' });
  const clients: TestClient[] = [];

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('pages in the rest of the list as it scrolls and filters it', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `member${String(i).padStart(2, '0')}`);
    for (const name of names) {
      const { token } = await ctx.node.test.login(name);
      clients.push(await TestClient.connect(ctx.node.test.wsUrl, bearer(token)));
    }
    const { page } = await join('viewer');
    const rows = page.locator('#people-list li');
    const more = page.locator('#people-more');
    await rows.first().waitFor();
    // Members still joining arrive by presence, the rest page by page: stop when both are done.
    for (let round = 0; round < 40; round += 1) {
      const count = await rows.count();
      if (count >= names.length && (await more.isHidden())) break;
      // Scroll the list to its end as a person would; the next page arrives on its own.
      await page.evaluate("document.getElementById('people-scroll').scrollTop = 1e9");
      await rows.nth(count).or(page.locator('#people-more[hidden]')).first().waitFor({ state: 'attached' });
    }
    expect(await rows.locator('.item-name').allTextContents()).toEqual(names);
    expect(await page.locator('#people-list li[data-status="online"]').count()).toBe(names.length);
    expect(await more.isHidden()).toBe(true);
    await page.locator('#online-count', { hasText: '31 online' }).waitFor();
    await page.locator('#people-filter').fill('member2');
    expect(await rows.count()).toBe(10);
  });
});

describe('web client on a node with OpenID Connect', { timeout: 60_000 }, () => {
  let relay: TcpProxy | undefined;
  let idp: Idp | undefined;
  let node: TestNode | undefined;
  const people: Person[] = [];

  afterAll(async () => {
    for (const p of people) await p.context.close().catch(() => undefined);
    await node?.close();
    await idp?.close();
    await relay?.close();
  });

  it('signs in through the issuer with "Sign in with OpenID", chats, and logs out', async () => {
    // The issuer must know the callback URL before the node listens: the relay's port is that URL.
    relay = await startTcpProxy();
    idp = await startIdp({ redirectUris: [`${relay.url}/auth/callback`] });
    node = await startTestNode(
      {
        CHAT_OIDC_ISSUER: idp.issuer.href,
        CHAT_OIDC_CLIENT_ID: idp.clientId,
        CHAT_OIDC_CLIENT_SECRET: idp.clientSecret,
        CHAT_PUBLIC_URL: relay.url,
      },
      { auth: true, extraRoutes: () => staticRoutes(createStaticSite(dist)) },
    );
    relay.target = node.port;
    const context = await browser.newContext({ baseURL: relay.url });
    const page = await context.newPage();
    const me: Person = { name: 'alice@example.com', context, page, dialogs: [], errors: [] };
    page.on('pageerror', (e) => me.errors.push(String(e)));
    people.push(me);

    await page.goto('/');
    expect(await page.locator('#login-form').isHidden()).toBe(true);
    await page.getByRole('link', { name: 'Sign in with OpenID' }).click();
    await page.locator('input[name="login"]').fill('alice');
    await page.locator('input[name="password"]').fill('any password');
    await page.locator('input[name="password"]').press('Enter');
    const chat = page.locator('#chat-view:not([hidden])');
    const consent = page.getByRole('button', { name: /continue/i });
    await chat.or(consent).first().waitFor();
    if (await consent.isVisible()) await consent.click();
    await connected(page);
    await page.locator('#me-name', { hasText: 'alice@example.com' }).waitFor();

    await say(page, 'hello from OpenID');
    await message(page, 'hello from OpenID').waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You have logged out.').waitFor();
    await page.getByRole('link', { name: 'Sign in with OpenID' }).waitFor();
    expect(me.errors).toEqual([]);
  });
});

describe('web client on a node in presence mode "watch"', { timeout: 60_000 }, () => {
  const { join } = useNode({ CHAT_PRESENCE: 'watch' });

  it('follows the presence of the people it has a direct conversation with', async () => {
    const nora = await join('nora');
    const omar = await join('omar');
    await nora.page.reload();
    await connected(nora.page);
    await person(nora.page, 'people', 'omar', 'online').locator('button').click();
    await nora.page.locator('#conv-title', { hasText: 'omar' }).waitFor();
    await omar.context.close();
    await person(nora.page, 'dm', 'omar', 'grace').waitFor();
    await person(nora.page, 'dm', 'omar', 'offline').waitFor();
  });
});

describe('web client across a node restart (in-memory history)', { timeout: 60_000 }, () => {
  const nodes: RunningNode[] = [];
  const people: Person[] = [];
  let relay: TcpProxy;

  afterAll(async () => {
    for (const p of people) await p.context.close().catch(() => undefined);
    for (const n of nodes) await n.close().catch(() => undefined);
    await relay?.close();
  });

  it('reconnects by itself, says history was lost, and shows new messages despite reused ids', async () => {
    relay = await startTcpProxy();
    // Same signing secret on both nodes so the session cookie stays valid; the page's origin is the relay.
    const env = { CHAT_SESSION_SECRET: 'browser-test-secret-'.repeat(3), CHAT_ALLOWED_ORIGINS: relay.url };
    const first = await startNode({ graceMs: GRACE_MS, staticRoot: dist, env });
    nodes.push(first);
    relay.target = first.test.port;
    const alice = await signIn(browser, relay.url, 'alice');
    const bob = await signIn(browser, relay.url, 'bob');
    people.push(alice, bob);
    await say(bob.page, 'before the restart');
    await message(alice.page, 'before the restart').waitFor();

    relay.target = undefined;
    await first.close();
    relay.dropAll();
    await alice.page.locator('body[data-conn="waiting"]').waitFor();
    const second = await startNode({ graceMs: GRACE_MS, staticRoot: dist, env });
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
    for (const p of people) await p.context.close().catch(() => undefined);
    await node?.close();
    await relay?.close();
  });

  it('notices a socket that died silently and shows what it missed, once', async () => {
    relay = await startTcpProxy();
    node = await startNode({ graceMs: 60_000, staticRoot: dist, env: { CHAT_ALLOWED_ORIGINS: relay.url } });
    relay.target = node.test.port;
    const context = await browser.newContext({ baseURL: relay.url });
    const page = await context.newPage();
    // Page time runs normally, but the test can jump it forward the way a sleeping laptop does.
    await page.clock.install();
    await page.goto('/');
    await page.locator('#login-name').fill('ivy');
    await page.locator('#login-name').press('Enter');
    await connected(page);
    people.push({ name: 'ivy', context, page, dialogs: [], errors: [] });
    const jack = await signIn(browser, node.url, 'jack'); // straight to the node: only ivy sleeps
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
