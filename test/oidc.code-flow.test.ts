/**
 * The browser login (authorization code + PKCE + state + nonce) of `src/auth/oidc.ts`, driven end to end
 * against a real OpenID provider on loopback, and each way a callback is refused, by its error code.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createOidc, type Oidc, type OidcErrorCode } from '../src/auth/oidc.ts';
import { startIdp, type Idp } from './support/idp.ts';

const REDIRECT_URI = 'http://127.0.0.1:5999/auth/callback';
const SEAL_SECRET = 'test-seal-secret-0123456789abcdef';

let idp: Idp;
let oidc: Oidc;

async function newOidc(overrides: { nameClaim?: string } = {}): Promise<Oidc> {
  return createOidc({
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    redirectUri: REDIRECT_URI,
    sealSecret: SEAL_SECRET,
    ...overrides,
  });
}

async function expectCode(promise: Promise<unknown>, code: OidcErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'OidcError', code });
}

beforeEach(async () => {
  idp = await startIdp({ redirectUris: [REDIRECT_URI] });
  oidc = await newOidc();
});

afterEach(async () => {
  vi.useRealTimers();
  await idp.close();
});

describe('oidc code flow', () => {
  it('logs alice in with her e-mail as the display name when she completes login and consent', async () => {
    const { redirectTo, flowCookie } = await oidc.startLogin();
    const authUrl = new URL(redirectTo);
    expect(authUrl.origin).toBe(idp.issuer.origin);
    expect(authUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authUrl.searchParams.get('state')).toBeTruthy();
    expect(authUrl.searchParams.get('nonce')).toBeTruthy();

    const callback = await idp.authorize(redirectTo, 'alice', REDIRECT_URI);
    const identity = await oidc.finishLogin(callback, flowCookie);

    expect(identity).toEqual({ issuer: oidc.issuer, subject: 'alice', name: 'alice@example.com', nameFrom: 'email' });
  });
});
