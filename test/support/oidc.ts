/**
 * What the tests of `src/auth/oidc.ts` share: the node's OIDC settings against a test IdP
 * (`oidcFor`, any setting overridable) and the check that a call fails with an `OidcError` of a code.
 */
import { expect } from 'vitest';
import { createOidc, type Oidc, type OidcErrorCode, type OidcOptions } from '../../src/auth/oidc.ts';
import type { Idp } from './idp.ts';

/** The node's callback as registered at the test IdP (nothing listens there: the tests play the browser). */
export const REDIRECT_URI = 'http://127.0.0.1:5999/auth/callback';
export const SEAL_SECRET = 'test-seal-secret-0123456789abcdef';

/** The OIDC module as a node configured for `idp`'s client would build it. */
export function oidcFor(idp: Idp, overrides: Partial<OidcOptions> = {}): Promise<Oidc> {
  return createOidc({
    issuer: idp.issuer,
    clientId: idp.clientId,
    clientSecret: idp.clientSecret,
    redirectUri: REDIRECT_URI,
    sealSecret: SEAL_SECRET,
    ...overrides,
  });
}

/** Fails unless `promise` rejects with an `OidcError` of `code` (and, given `message`, a message matching it). */
export async function expectOidcError(promise: Promise<unknown>, code: OidcErrorCode, message?: RegExp): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'OidcError', code, ...(message ? { message: expect.stringMatching(message) } : {}) });
}
