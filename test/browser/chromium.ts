/**
 * Debian's Chromium driven by playwright-core, plus the few page steps the browser tests share.
 * Nothing here downloads a browser: /usr/bin/chromium comes from `apt-get install -y chromium`.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's browser with "apt-get install -y chromium"`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

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
