/**
 * @module scripts/chromium
 * Debian's Chromium (/usr/bin/chromium) driven by playwright-core, for the browser tests and for
 * rendering the machine diagrams. Nothing here downloads a browser: `scripts/ensure-test-packages.sh`
 * installs Debian's package when it is missing (`npm test` runs it first).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's browser with "apt-get install -y chromium" (or run scripts/ensure-test-packages.sh)`);
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
