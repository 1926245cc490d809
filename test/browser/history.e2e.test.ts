/**
 * Scrollback in the web client, in Chromium against a real node: the page opens on the last 50 group
 * messages, scrolling up loads older pages without moving what the reader looks at, a marker tells the
 * start of a conversation from expired messages, a direct conversation opens on its own last 50, and
 * history never counts as unread.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { TestClient, bearer } from '../support/ws-client.ts';
import { message, person } from './chromium.ts';
import { useChromium, useNode } from './setup.ts';

const repo = resolve(import.meta.dirname, '../..');
const shared = useChromium();
const RATE = { CHAT_RATE_PER_S: '100000', CHAT_RATE_BURST: '100000' };
const pad = (n: number): string => String(n).padStart(3, '0');

async function writer(url: string, wsUrl: string, name: string, clients: TestClient[]): Promise<TestClient> {
  const { token } = (await (await fetch(`${url}/login/${name}`)).json()) as { token: string };
  const client = await TestClient.connect(wsUrl, bearer(token));
  await client.nextOfType('welcome');
  clients.push(client);
  return client;
}

async function post(client: TestClient, frames: object[]): Promise<void> {
  for (const frame of frames) client.send(frame);
  await client.sync();
}

const shown = (page: Page): Promise<string[]> => page.locator('#messages li.msg .msg-text').allTextContents();
const marker = (page: Page) => page.locator('#messages li.older-marker');

describe('scrollback of the group conversation', { timeout: 60_000 }, () => {
  const { ctx, join } = useNode(shared, RATE);
  const clients: TestClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('opens on the last 50, loads older pages on scrolling up keeping the position, and marks the start', async () => {
    const carol = await writer(ctx.node.url, ctx.node.test.wsUrl, 'carol', clients);
    await post(carol, Array.from({ length: 120 }, (_, i) => ({ type: 'message', text: `g${pad(i + 1)}` })));

    const { page } = await join('reader');
    await message(page, 'g120').waitFor();
    expect(await shown(page)).toEqual(Array.from({ length: 50 }, (_, i) => `g${pad(i + 71)}`));
    await marker(page).locator('button', { hasText: 'Load earlier messages' }).waitFor();
    // History is not news: no unread badge, no count in the title.
    expect(await page.locator('#conv-group .badge').isHidden()).toBe(true);
    expect(await page.title()).toBe('actor-chat');
    const box = page.locator('#messages');
    expect(await box.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThan(2); // at the newest

    // Measured in the same task as the scroll, before the scroll event can ask for the older page.
    const before = await box.evaluate((el) => {
      el.scrollTop = 0;
      return [...el.querySelectorAll('li.msg')].find((li) => li.textContent?.includes('g071'))!.getBoundingClientRect().y;
    });
    await message(page, 'g021').waitFor();
    expect((await message(page, 'g071').boundingBox())!.y).toBeCloseTo(before, 0); // the row read stays put
    expect(await shown(page)).toEqual(Array.from({ length: 100 }, (_, i) => `g${pad(i + 21)}`));

    await box.evaluate((el) => (el.scrollTop = 0));
    await marker(page).filter({ hasText: 'This is the start of the conversation.' }).waitFor();
    expect(await shown(page)).toEqual(Array.from({ length: 120 }, (_, i) => `g${pad(i + 1)}`));

    // Live messages still count as unread where the reader is not looking, history still does not.
    await person(page, 'people', 'carol').locator('button').click();
    await page.locator('#conv-title', { hasText: 'carol' }).waitFor();
    await marker(page).filter({ hasText: 'This is the start of your conversation with carol.' }).waitFor();
    await post(carol, [{ type: 'message', text: 'live one' }]);
    await page.locator('#conv-group .badge', { hasText: '1' }).waitFor();
    expect(await page.title()).toBe('(1) actor-chat');
  });
});

describe('scrollback of a direct conversation', { timeout: 60_000 }, () => {
  const { ctx, join } = useNode(shared, { ...RATE, CHAT_HISTORY_MAX: '80' });
  const clients: TestClient[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('opens on its last 50 messages, says older ones expired, and counts only live ones as unread', async () => {
    const alice = await writer(ctx.node.url, ctx.node.test.wsUrl, 'alice', clients);
    const bobWriter = await writer(ctx.node.url, ctx.node.test.wsUrl, 'bob', clients);
    await post(alice, Array.from({ length: 70 }, (_, i) => ({ type: 'direct', to: 'bob', text: `d${pad(i + 1)}` })));
    await post(alice, Array.from({ length: 10 }, (_, i) => ({ type: 'message', text: `g${pad(i + 1)}` })));
    await post(bobWriter, [{ type: 'direct', to: 'bob', text: 'note to self' }]); // 81 messages: d001 left the window

    const bob = await join('bob');
    await message(bob.page, 'g010').waitFor();
    await marker(bob.page).filter({ hasText: 'This is the start of the conversation.' }).waitFor();
    expect(await shown(bob.page)).toEqual(Array.from({ length: 10 }, (_, i) => `g${pad(i + 1)}`));
    expect(await bob.page.locator('#dm-list li').count()).toBe(0);

    await person(bob.page, 'people', 'alice').locator('button').click();
    await message(bob.page, 'd070').waitFor();
    expect(await shown(bob.page)).toEqual(Array.from({ length: 50 }, (_, i) => `d${pad(i + 21)}`));
    await bob.page.locator('#messages').evaluate((el) => (el.scrollTop = 0));
    await message(bob.page, 'd002').waitFor();
    await marker(bob.page).filter({ hasText: 'Older messages have expired.' }).waitFor();
    expect(await shown(bob.page)).toEqual(Array.from({ length: 69 }, (_, i) => `d${pad(i + 2)}`));
    expect(await person(bob.page, 'dm', 'alice').locator('.badge').isHidden()).toBe(true);
    mkdirSync(resolve(repo, 'test-artifacts'), { recursive: true });
    await bob.page.locator('#messages').evaluate((el) => (el.scrollTop = 0));
    await bob.page.locator('#composer-input').blur();
    await bob.page.screenshot({ path: resolve(repo, 'test-artifacts/history-expired.png') });

    await bob.page.locator('#conv-group').click();
    await post(alice, [{ type: 'direct', to: 'bob', text: 'are you there?' }]);
    await person(bob.page, 'dm', 'alice').locator('.badge', { hasText: '1' }).waitFor();
    await person(bob.page, 'dm', 'alice').locator('button').click();
    await message(bob.page, 'are you there?').waitFor();
    await person(bob.page, 'dm', 'alice').locator('.badge').waitFor({ state: 'hidden' });
    expect(await shown(bob.page)).toEqual([...Array.from({ length: 69 }, (_, i) => `d${pad(i + 2)}`), 'are you there?']);
  });
});
