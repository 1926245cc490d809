/**
 * The console client's device login (src/client/device-login.ts) against a real node and a real IdP: it
 * prints the verification URL and code, polls at the node's interval, honours slow_down, and ends with a
 * session, or says clearly that login was denied, expired, or that the node offers no device login.
 * The clock moves with `vi.useFakeTimers({ toFake: ['Date'] })`; the client's sleep is injected and moves it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeviceLoginError, deviceLogin } from '../../src/client/device-login.ts';
import { UnreachableError } from '../../src/client/http.ts';
import { getJson, startAuthNode, type AuthSetup } from '../support/auth.ts';
import { startTestNode, type TestNode } from '../support/node.ts';

let setup: AuthSetup | undefined;
let plain: TestNode | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await setup?.close();
  await plain?.close();
  setup = undefined;
  plain = undefined;
});

/** Printed lines, and the user code read from them as a person would. */
function terminal(): { lines: string[]; print: (line: string) => void; userCode: () => string } {
  const lines: string[] = [];
  return {
    lines,
    print: (line) => lines.push(line),
    userCode: () => /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(lines.join('\n'))?.[1] ?? '',
  };
}

/**
 * A device login on a fresh auth node (fake Date) that `user` approves during wait number `approveAt`.
 * Each wait moves the clock by its length, except wait number `early` (that poll comes too early).
 */
async function approvedLogin(approveAt: number, user: string, early?: number) {
  vi.useFakeTimers({ toFake: ['Date'] });
  setup = await startAuthNode();
  const { t, idp } = setup;
  const out = terminal();
  const sleeps: number[] = [];
  const session = await deviceLogin({
    url: t.url,
    print: out.print,
    sleep: async (ms) => {
      sleeps.push(ms);
      if (sleeps.length === approveAt) await idp.approveDevice(out.userCode(), user);
      if (sleeps.length !== early) vi.setSystemTime(Date.now() + ms);
    },
  });
  return { t, idp, out, sleeps, session };
}

describe('console client device login', () => {
  it('prints the URL and code, polls at the given interval, and returns a session once the user approves', async () => {
    const { t, idp, out, sleeps, session } = await approvedLogin(2, 'carol');
    expect(out.lines[0]).toMatch(new RegExp(`^To log in, open ${idp.issuer.origin}/device in a browser and enter the code [A-Z]{4}-[A-Z]{4}`));
    expect(out.lines[0]).toMatch(/valid for 10 minutes/);
    expect(sleeps).toEqual([5000, 5000]);
    expect(session.user).toBe('carol.c');
    expect((await getJson(`${t.url}/list-users`, { authorization: `Bearer ${session.token}` })).status).toBe(200);
  });

  it('waits longer after slow_down', async () => {
    // The second wait is cut short: that poll comes too early and the node says slow_down.
    const { sleeps, session } = await approvedLogin(3, 'alice', 2);
    expect(sleeps).toEqual([5000, 5000, 10_000]);
    expect(session.user).toBe('alice@example.com');
  });

  it('stops with a clear message when the user denies', async () => {
    setup = await startAuthNode();
    const { t, idp } = setup;
    const out = terminal();
    const failed = deviceLogin({ url: t.url, print: out.print, sleep: () => idp.denyDevice(out.userCode()) });
    await expect(failed).rejects.toBeInstanceOf(DeviceLoginError);
    await expect(failed).rejects.toMatchObject({ reason: 'denied', message: expect.stringMatching(/denied/) });
  });

  it('stops with a clear message when the code expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    setup = await startAuthNode();
    const out = terminal();
    const failed = deviceLogin({ url: setup.t.url, print: out.print, sleep: async () => void vi.setSystemTime(Date.now() + 601_000) });
    await expect(failed).rejects.toMatchObject({ name: 'DeviceLoginError', reason: 'expired', message: expect.stringMatching(/expired .* new code/) });
  });

  it('says the node offers no device login when the issuer has none (device_flow_unsupported)', async () => {
    setup = await startAuthNode({ idp: { deviceFlow: false } });
    const failed = deviceLogin({ url: setup.t.url, print: () => {} });
    await expect(failed).rejects.toMatchObject({ reason: 'unsupported', message: expect.stringMatching(/offers no device login/) });
  });

  it('says the node offers no device login when it has no issuer (dev login only)', async () => {
    plain = await startTestNode();
    const failed = deviceLogin({ url: plain.url, print: () => {} });
    await expect(failed).rejects.toMatchObject({ reason: 'unsupported', message: expect.stringMatching(/no OpenID Connect issuer/) });
  });

  it('says the server offers no device login when it has no such route (404, e.g. an older node)', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'not_found', message: 'no route' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const failed = deviceLogin({ url: `http://127.0.0.1:${port}`, print: () => {} });
      await expect(failed).rejects.toMatchObject({ reason: 'unsupported', message: expect.stringMatching(/no device login route/) });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('reports an unreachable node as such', async () => {
    plain = await startTestNode();
    const url = plain.url;
    await plain.close();
    plain = undefined;
    await expect(deviceLogin({ url, print: () => {} })).rejects.toBeInstanceOf(UnreachableError);
  });
});
