/**
 * The device login (RFC 8628) brokered by `src/auth/oidc.ts` for the console client, end to end against
 * a real OpenID provider on loopback: approval, denial, expiry, pacing and misuse. Time moves with
 * `vi.useFakeTimers({ toFake: ['Date'] })` (the module and the IdP read the clock; nothing sleeps).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeviceStart, Oidc } from '../../src/auth/oidc.ts';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startIdp, type Idp } from '../support/idp.ts';
import { expectOidcError, oidcFor, REDIRECT_URI } from '../support/oidc.ts';

let idp: Idp;
let oidc: Oidc;

let logLines: Array<Record<string, unknown>>;

function memoryLogger(): pino.Logger {
  logLines = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'debug' }, stream);
}

function newOidc(): Promise<Oidc> {
  return oidcFor(idp, { logger: memoryLogger() });
}

/** Moves the clock past the client's polling interval, as a well-behaved client waits. */
function waitInterval(start: Pick<DeviceStart, 'interval'>): void {
  vi.setSystemTime(Date.now() + start.interval * 1000);
}

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  idp = await startIdp({ redirectUris: [REDIRECT_URI] });
  oidc = await newOidc();
});

afterEach(async () => {
  vi.useRealTimers();
  await idp.close();
});

describe('oidc device flow', () => {
  it('gives the client a sealed handle, the user code and the verification URL', async () => {
    expect(oidc.deviceFlowSupported).toBe(true);
    const start = await oidc.startDevice();
    expect(start.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(new URL(start.verificationUri).origin).toBe(idp.issuer.origin);
    expect(new URL(start.verificationUriComplete ?? '').searchParams.get('user_code')).toBe(start.userCode);
    expect(start.expiresIn).toBe(600);
    expect(start.interval).toBe(5);
    expect(start.handle.split('.')).toHaveLength(5);
  });

  it('is pending until the user approves, then yields the identity once', async () => {
    const start = await oidc.startDevice();
    expect(await oidc.pollDevice(start.handle)).toEqual({ status: 'pending', interval: 5 });

    await idp.approveDevice(start.userCode, 'bob');
    waitInterval(start);
    const done = await oidc.pollDevice(start.handle);
    expect(done).toEqual({ status: 'ok', identity: { issuer: oidc.issuer, subject: 'bob', name: 'bob@example.com', nameFrom: 'email' } });

    waitInterval(start);
    await expectOidcError(oidc.pollDevice(start.handle), 'device_handle_used');
  });

  it('answers slow_down without asking the issuer when the client polls faster than the interval', async () => {
    const start = await oidc.startDevice();
    expect(await oidc.pollDevice(start.handle)).toEqual({ status: 'pending', interval: 5 });
    expect(await oidc.pollDevice(start.handle)).toEqual({ status: 'slow_down', interval: 10 });
    waitInterval({ interval: 10 });
    expect(await oidc.pollDevice(start.handle)).toEqual({ status: 'pending', interval: 10 });
  });

  it('reports denied when the user aborts on the verification page', async () => {
    const start = await oidc.startDevice();
    await idp.denyDevice(start.userCode);
    expect(await oidc.pollDevice(start.handle)).toEqual({ status: 'denied' });
  });

  it('reports expired, from the issuer, once the device code has expired there', async () => {
    const start = await oidc.startDevice();
    expect(await oidc.pollDevice(start.handle)).toMatchObject({ status: 'pending' });
    vi.setSystemTime(Date.now() + (start.expiresIn + 1) * 1000);
    expect(await oidc.pollDevice(start.handle)).toEqual({ status: 'expired' });
    expect(logLines).toContainEqual(expect.objectContaining({ component: 'oidc', error: 'expired_token', msg: 'oidc device code expired' }));
  });

  it('reports expired without contacting the issuer once the handle itself has expired', async () => {
    const start = await oidc.startDevice();
    vi.setSystemTime(Date.now() + (start.expiresIn + 60) * 1000);
    await idp.close(); // any request to the issuer would now fail: the answer must be local
    expect(await oidc.pollDevice(start.handle)).toEqual({ status: 'expired' });
  });

  it('refuses a tampered handle or a login flow cookie passed as a handle (device_handle_invalid)', async () => {
    const start = await oidc.startDevice();
    await expectOidcError(oidc.pollDevice(`${start.handle}x`), 'device_handle_invalid');
    const { flowCookie } = await oidc.startLogin();
    await expectOidcError(oidc.pollDevice(flowCookie), 'device_handle_invalid');
  });

  it('refuses the device flow with device_flow_unsupported when the issuer does not offer it', async () => {
    await idp.close();
    idp = await startIdp({ redirectUris: [REDIRECT_URI], deviceFlow: false });
    const plain = await newOidc();
    expect(plain.deviceFlowSupported).toBe(false);
    await expectOidcError(plain.startDevice(), 'device_flow_unsupported');
  });
});

describe('oidc device flow with Google-style answers', () => {
  it('accepts verification_url in place of verification_uri', async () => {
    await idp.close();
    idp = await startIdp({ redirectUris: [REDIRECT_URI], googleStyleDeviceAnswer: true });
    const googley = await newOidc();
    const start = await googley.startDevice();
    expect(start.verificationUri).toBe(new URL('/device', idp.issuer).href);
    expect(start.verificationUriComplete).toBeUndefined();
    await idp.approveDevice(start.userCode, 'bob');
    expect(await googley.pollDevice(start.handle)).toMatchObject({ status: 'ok', identity: { name: 'bob@example.com' } });
  });
});

describe('oidc device flow with a separate device client', () => {
  const deviceClient = { clientId: 'actor-chat-console', clientSecret: 'console-secret-0123456789abcdef' };

  it('brokers the device flow with the device client where the web client has no device grant', async () => {
    await idp.close();
    idp = await startIdp({ redirectUris: [REDIRECT_URI], deviceClient });

    const webOnly = await newOidc();
    await expectOidcError(webOnly.startDevice(), 'oidc_device_failed');

    const withDeviceClient = await oidcFor(idp, { deviceClient });
    const start = await withDeviceClient.startDevice();
    await idp.approveDevice(start.userCode, 'alice');
    expect(await withDeviceClient.pollDevice(start.handle)).toMatchObject({ status: 'ok', identity: { subject: 'alice', name: 'alice@example.com' } });
  });
});
