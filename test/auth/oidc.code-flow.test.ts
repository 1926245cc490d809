/**
 * The browser login (authorization code + PKCE + state + nonce) of `src/auth/oidc.ts`, driven end to end
 * against a real OpenID provider on loopback, and each way a callback is refused, by its error code.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LOGIN_FLOW_TTL_SECONDS, type Oidc, type OidcOptions } from '../../src/auth/oidc.ts';
import { Sealer } from '../../src/auth/oidc-seal.ts';
import { startIdp, type Idp } from '../support/idp.ts';
import { expectOidcError, oidcFor, REDIRECT_URI, SEAL_SECRET } from '../support/oidc.ts';

let idp: Idp;
let oidc: Oidc;

function newOidc(overrides: Partial<OidcOptions> = {}): Promise<Oidc> {
  return oidcFor(idp, overrides);
}

/** Starts a login and plays `login` at the IdP; returns what the browser brings back to the node. */
async function loginAs(login: string, client: Oidc = oidc): Promise<{ callback: URL; flowCookie: string }> {
  const { redirectTo, flowCookie } = await client.startLogin();
  return { callback: await idp.authorize(redirectTo, login, REDIRECT_URI), flowCookie };
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
  it('sends the browser to the issuer with PKCE S256, state and nonce', async () => {
    const { redirectTo, flowCookie } = await oidc.startLogin();
    const url = new URL(redirectTo);
    expect(url.origin).toBe(idp.issuer.origin);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('redirect_uri')).toBe(REDIRECT_URI);
    expect(url.searchParams.get('scope')).toBe('openid email profile');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toBeTruthy();
    expect(url.searchParams.get('nonce')).toBeTruthy();
    // The cookie is a compact JWE (5 parts) and does not show the state in clear.
    expect(flowCookie.split('.')).toHaveLength(5);
    expect(flowCookie).not.toContain(url.searchParams.get('state'));
  });

  it('logs alice in with her e-mail as the display name when she completes login and consent', async () => {
    const { callback, flowCookie } = await loginAs('alice');
    const identity = await oidc.finishLogin(callback, flowCookie);
    expect(identity).toEqual({ issuer: oidc.issuer, subject: 'alice', name: 'alice@example.com', nameFrom: 'email' });
  });

  it('accepts the callback query alone, rebuilding the URL from the configured redirect URI', async () => {
    const { callback, flowCookie } = await loginAs('bob');
    const identity = await oidc.finishLogin(new URLSearchParams(callback.search), flowCookie);
    expect(identity.name).toBe('bob@example.com');
  });

  it('falls back to preferred_username when the account has no e-mail', async () => {
    const { callback, flowCookie } = await loginAs('carol');
    expect(await oidc.finishLogin(callback, flowCookie)).toMatchObject({ subject: 'carol', name: 'carol.c', nameFrom: 'preferred_username' });
  });

  it('derives a name from sub when the e-mail is unverified and the other claims break the name rule', async () => {
    const { callback, flowCookie } = await loginAs('dave smith');
    const identity = await oidc.finishLogin(callback, flowCookie);
    expect(identity.subject).toBe('dave smith');
    expect(identity.nameFrom).toBe('sub-hash');
    expect(identity.name).toMatch(/^u-[0-9a-f]{20}$/);
  });

  it('uses the configured name claim', async () => {
    const byUsername = await newOidc({ nameClaim: 'preferred_username' });
    const { callback, flowCookie } = await loginAs('alice', byUsername);
    expect(await byUsername.finishLogin(callback, flowCookie)).toMatchObject({ name: 'alice', nameFrom: 'preferred_username' });
  });

  it('refuses a callback whose state is not the one this browser sent (oidc_state_mismatch)', async () => {
    const first = await oidc.startLogin();
    const second = await oidc.startLogin();
    const callback = await idp.authorize(first.redirectTo, 'alice', REDIRECT_URI);
    await expectOidcError(oidc.finishLogin(callback, second.flowCookie), 'oidc_state_mismatch');
    const noState = new URL(callback);
    noState.searchParams.delete('state');
    await expectOidcError(oidc.finishLogin(noState, first.flowCookie), 'oidc_state_mismatch');
  });

  it('refuses a replayed callback on the same node (oidc_flow_replayed)', async () => {
    const { callback, flowCookie } = await loginAs('alice');
    await oidc.finishLogin(callback, flowCookie);
    await expectOidcError(oidc.finishLogin(callback, flowCookie), 'oidc_flow_replayed');
  });

  it('refuses a callback replayed on another node, where the issuer refuses the used code (oidc_callback_failed)', async () => {
    const { callback, flowCookie } = await loginAs('alice');
    await oidc.finishLogin(callback, flowCookie);
    const otherNode = await newOidc();
    await expectOidcError(otherNode.finishLogin(callback, flowCookie), 'oidc_callback_failed', /invalid_grant/);
  });

  it('refuses an ID token whose nonce is not the one this browser sent (oidc_nonce_mismatch)', async () => {
    const { redirectTo, flowCookie } = await oidc.startLogin();
    const tampered = new URL(redirectTo);
    tampered.searchParams.set('nonce', 'a-nonce-the-attacker-chose');
    const callback = await idp.authorize(tampered, 'alice', REDIRECT_URI);
    await expectOidcError(oidc.finishLogin(callback, flowCookie), 'oidc_nonce_mismatch');
  });

  it('refuses a code redeemed with another PKCE verifier (oidc_callback_failed)', async () => {
    const { redirectTo } = await oidc.startLogin();
    const url = new URL(redirectTo);
    const callback = await idp.authorize(url, 'alice', REDIRECT_URI);
    // A flow cookie with the right state and nonce but another verifier: only PKCE can catch it.
    const forged = await new Sealer(SEAL_SECRET).seal(
      'actor-chat:oidc-login',
      { v: 'another-code-verifier-another-code-verifier-0123', s: url.searchParams.get('state'), n: url.searchParams.get('nonce') },
      60,
    );
    await expectOidcError(oidc.finishLogin(callback, forged), 'oidc_callback_failed', /invalid_grant/);
  });

  it('refuses a flow older than ten minutes (oidc_flow_expired)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { callback, flowCookie } = await loginAs('alice');
    vi.setSystemTime(Date.now() + (LOGIN_FLOW_TTL_SECONDS + 1) * 1000);
    await expectOidcError(oidc.finishLogin(callback, flowCookie), 'oidc_flow_expired');
  });

  it('refuses a callback without the flow cookie (oidc_flow_missing)', async () => {
    const { callback } = await loginAs('alice');
    await expectOidcError(oidc.finishLogin(callback, undefined), 'oidc_flow_missing');
    await expectOidcError(oidc.finishLogin(callback, ''), 'oidc_flow_missing');
  });

  it('refuses a tampered flow cookie or one sealed with another key (oidc_flow_invalid)', async () => {
    const { callback, flowCookie } = await loginAs('alice');
    const parts = flowCookie.split('.');
    const ciphertext = parts[3] ?? '';
    parts[3] = (ciphertext.startsWith('A') ? 'B' : 'A') + ciphertext.slice(1);
    await expectOidcError(oidc.finishLogin(callback, parts.join('.')), 'oidc_flow_invalid');
    const otherKey = await newOidc({ sealSecret: 'another-seal-secret-0123456789abcdef' });
    await expectOidcError(otherKey.finishLogin(callback, flowCookie), 'oidc_flow_invalid');
    await expectOidcError(oidc.finishLogin(callback, 'not-a-jwe'), 'oidc_flow_invalid');
  });

  it('still opens flows sealed with the previous key after a key rotation', async () => {
    const { callback, flowCookie } = await loginAs('alice');
    const rotated = await newOidc({ sealSecret: ['a-brand-new-seal-secret-0123456789', SEAL_SECRET] });
    expect((await rotated.finishLogin(callback, flowCookie)).name).toBe('alice@example.com');
  });

  it('reports the user cancelling at the issuer (oidc_access_denied)', async () => {
    const { redirectTo, flowCookie } = await oidc.startLogin();
    const callback = await idp.cancel(redirectTo, REDIRECT_URI);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    await expectOidcError(oidc.finishLogin(callback, flowCookie), 'oidc_access_denied');
  });
});

describe('oidc issuer outage', () => {
  it('fails with oidc_idp_unavailable when the issuer goes away before the code exchange', async () => {
    const { callback, flowCookie } = await loginAs('alice');
    await idp.close();
    await expect(oidc.finishLogin(callback, flowCookie)).rejects.toMatchObject({ code: 'oidc_idp_unavailable', status: 502 });
  });
});

describe('oidc discovery', () => {
  it('refuses an http issuer that is not on loopback (oidc_insecure_issuer)', async () => {
    await expectOidcError(newOidc({ issuer: new URL('http://idp.example.com'), clientId: 'c', clientSecret: 's' }), 'oidc_insecure_issuer');
  });

  it('fails with oidc_discovery_failed when the issuer does not answer', async () => {
    await idp.close();
    await expectOidcError(newOidc({ clientId: 'c', clientSecret: 's' }), 'oidc_discovery_failed');
  });
});
