/**
 * Browser end-to-end test of OpenID Connect sign-in: the web client's "Sign in with OpenID" button,
 * the real local issuer's login (and consent) pages, the node's callback, chat, logout.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startIdp, type Idp } from '../support/idp.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { connected, message, say, type Person } from './chromium.ts';
import { useChromium } from './setup.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const shared = useChromium();

describe('web client on a node with OpenID Connect', { timeout: 60_000 }, () => {
  let relay: TcpProxy | undefined;
  let idp: Idp | undefined;
  let node: TestNode | undefined;
  const people: Person[] = [];

  afterAll(async () => {
    for (const p of people) await p.context.close(); // a no-op for a context the test already closed
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
      { webRoot: shared.dist },
    );
    relay.target = node.port;
    const context = await shared.browser.newContext({ baseURL: relay.url });
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
