/**
 * The few page steps the browser tests share, on Debian's Chromium (launched by scripts/chromium.ts).
 * Nothing here downloads a browser: /usr/bin/chromium comes from `apt-get install -y chromium`.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';

export { CHROMIUM, launchChromium } from '../../scripts/chromium.ts';

export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Texts of every dialog the page tried to open (alert, confirm…): must stay empty. */
  dialogs: string[];
  /** Uncaught exceptions and CSP violations in the page: must stay empty. */
  errors: string[];
}

/** Opens a fresh browser profile (own cookie jar), signs in by name and waits for "Connected". */
export async function signIn(browser: Browser, baseUrl: string, name: string): Promise<Person> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  // The node's CSP forbids inline code: a violation means the built page needs something it blocks.
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().includes('Content Security Policy')) errors.push(m.text());
  });
  await page.goto('/');
  await page.locator('#login-name').fill(name);
  await page.locator('#login-name').press('Enter');
  await connected(page);
  return { name, context, page, dialogs, errors };
}

export async function connected(page: Page): Promise<void> {
  await page.locator('body[data-conn="open"] #me-name', { hasText: /./ }).waitFor();
  await page.locator('#conn-state', { hasText: 'Connected' }).waitFor();
}

/** Types into the composer of the open conversation and presses Enter. */
export async function say(page: Page, text: string): Promise<void> {
  await page.locator('#composer-input').fill(text);
  await page.locator('#composer-input').press('Enter');
}

export function person(page: Page, list: 'people' | 'dm', name: string, status?: string) {
  const statusSel = status === undefined ? '' : `[data-status="${status}"]`;
  return page.locator(`#${list}-list li[data-user="${name}"]${statusSel}`);
}

export function message(page: Page, text: string, state = 'confirmed') {
  return page.locator(`#messages li.msg[data-state="${state}"]`).filter({
    has: page.getByText(text, { exact: true }),
  });
}
