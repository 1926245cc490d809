/**
 * End-to-end tests of the web client in a real browser (Debian's Chromium via playwright-core)
 * against a real chat node started in-process on port 0, serving the freshly built client:
 * talking, presence, injection, keyboard use, logout, a long people list, presence mode "watch".
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient, bearer } from '../support/ws-client.ts';
import { connected, message, person, say } from './chromium.ts';
import { useChromium, useNode } from './setup.ts';

const repo = resolve(import.meta.dirname, '../..');
const shared = useChromium();

describe('web client in Chromium', { timeout: 60_000 }, () => {
  const { join } = useNode(shared);

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
    expect(await message(erin.page, 'Are you there?', 'failed').count(), 'the retried message is no longer failed').toBe(0);
    expect(await person(frank.page, 'dm', 'erin').locator('.badge').textContent()).toBe('1');
  });

  it('reconnects by itself and shows the messages it missed, in order, once', async () => {
    const gina = await join('gina');
    const hank = await join('hank');
    const confirmed = gina.page.locator('#messages li.msg[data-state="confirmed"] .msg-text');
    // The group's earlier messages (scrollback from the tests before) come first.
    await gina.page.locator('#messages li.older-marker').waitFor();
    const earlier = await confirmed.allTextContents();
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
    expect(await confirmed.allTextContents()).toEqual([...earlier, ...missed]);

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
    expect(await person(leo.page, 'people', 'kim').count(), 'kim left leo\'s people list').toBe(0);
    expect(await kim.page.locator('#login-view').isVisible()).toBe(true);
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
    expect(await mia.page.locator('#login-view').isVisible(), 'the window that did not log out').toBe(true);
    expect(await second.locator('#login-view').isVisible(), 'the window that logged out').toBe(true);
  });
});

describe('web client with a long people list', { timeout: 60_000 }, () => {
  const { ctx, join } = useNode(shared, { CHAT_WELCOME_USERS: '5', CHAT_PAGE_SIZE: '5' });
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

describe('web client on a node in presence mode "watch"', { timeout: 60_000 }, () => {
  const { join } = useNode(shared, { CHAT_PRESENCE: 'watch' });

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
    expect(await person(nora.page, 'dm', 'omar').getAttribute('data-status')).toBe('offline');
  });
});

describe('web client on a rate-limited node', { timeout: 60_000 }, () => {
  const { join } = useNode(shared, { CHAT_RATE_PER_S: '1', CHAT_RATE_BURST: '1' });

  it('shows a refused send as not delivered, with the reason and a Retry button', async () => {
    const { page } = await join('quinn');
    await say(page, 'first');
    await say(page, 'second');
    await say(page, 'third');
    const refused = page.locator('#messages li.msg[data-state="failed"]').first();
    await refused.locator('.error-text', { hasText: 'rate_limited' }).waitFor();
    await refused.getByRole('button', { name: 'Retry' }).waitFor();
    await message(page, 'first').waitFor();
    expect(await refused.locator('.error-text').textContent()).toContain('rate_limited');
    expect(await message(page, 'first').count(), 'the first message, within the burst, was delivered').toBe(1);
  });
});
