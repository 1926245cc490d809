/**
 * Session token forgery and misuse, each refused with 401 and its stable code on an HTTP route and at the
 * WebSocket upgrade: expired, not yet valid, wrong signature, `alg: none`, another algorithm, wrong issuer,
 * wrong audience, missing claims, revoked. Key rotation: a token signed with the previous secret still
 * verifies while that secret is configured as previous (by variable or key file), and not after. Tokens are
 * minted here with jose; the node signs its own with fast-jwt and verifies with jose.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SignJWT, base64url, jwtVerify } from 'jose';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { SESSION_AUDIENCE, SESSION_ISSUER } from '../../src/auth/sessions.ts';
import { codeOf, getJson } from '../support/auth.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient } from '../support/ws-client.ts';

const SECRET = 'current-session-secret-0123456789abcdef';
const PREVIOUS = 'previous-session-secret-0123456789abcdef';
const OTHER = 'someone-elses-secret-0123456789abcdefgh';

const dir = mkdtempSync(join(tmpdir(), 'actor-chat-keys-'));
let t: TestNode | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = (secret: string): Uint8Array => new TextEncoder().encode(secret);
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

interface Mint {
  secret?: string;
  alg?: string;
  iss?: string;
  aud?: string;
  sub?: string | undefined;
  iat?: number;
  nbf?: number;
  exp?: number;
}

/** A session token as the node would sign it, with any part overridden. */
function mint(options: Mint = {}): Promise<string> {
  const iat = options.iat ?? nowSeconds();
  const jwt = new SignJWT({})
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .setJti(randomUUID())
    .setIssuer(options.iss ?? SESSION_ISSUER)
    .setAudience(options.aud ?? SESSION_AUDIENCE)
    .setIssuedAt(iat)
    .setNotBefore(options.nbf ?? iat)
    .setExpirationTime(options.exp ?? iat + 3600);
  if (!('sub' in options) || options.sub !== undefined) jwt.setSubject(options.sub ?? 'mallory');
  return jwt.sign(key(options.secret ?? SECRET));
}

/** `alg: none`: a header and payload with an empty signature. */
function unsigned(): string {
  const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const iat = nowSeconds();
  const payload = base64url.encode(
    JSON.stringify({ sub: 'mallory', jti: randomUUID(), iss: SESSION_ISSUER, aud: SESSION_AUDIENCE, iat, nbf: iat, exp: iat + 3600 }),
  );
  return `${header}.${payload}.`;
}

/** The status and code the node answers on an HTTP route and at the upgrade, for a bearer token. */
async function refusals(node: TestNode, token: string): Promise<{ http: [number, unknown]; ws: [number, unknown] }> {
  const answer = await getJson(`${node.url}/list-users`, { authorization: `Bearer ${token}` });
  let ws: [number, unknown] = [101, undefined];
  try {
    const client = await TestClient.connect(node.wsUrl, { authorization: `Bearer ${token}` });
    await client.close();
  } catch (error) {
    const refused = error as { status: number; body: string };
    ws = [refused.status, (JSON.parse(refused.body) as { error: { code: string } }).error.code];
  }
  return { http: [answer.status, codeOf(answer)], ws };
}

describe('session tokens: forgery and misuse', () => {
  const cases: Array<[string, () => Promise<string> | string, string]> = [
    ['an expired token', () => mint({ iat: nowSeconds() - 7200, exp: nowSeconds() - 60 }), 'session_expired'],
    ['a token not yet valid (nbf in the future)', () => mint({ nbf: nowSeconds() + 3600 }), 'invalid_token'],
    ['a token signed with another key', () => mint({ secret: OTHER }), 'invalid_token'],
    ['an unsigned token (alg: none)', unsigned, 'invalid_token'],
    ['a token signed with another algorithm (HS512)', () => mint({ alg: 'HS512' }), 'invalid_token'],
    ['a token from another issuer', () => mint({ iss: 'https://evil.example' }), 'invalid_token'],
    ['a token for another audience', () => mint({ aud: 'some-other-service' }), 'invalid_token'],
    ['a token without a subject', () => mint({ sub: undefined }), 'invalid_token'],
    ['a malformed token', () => 'not-a-jwt', 'invalid_token'],
  ];

  for (const [what, make, code] of cases) {
    it(`refuses ${what} with 401 ${code}, on HTTP and at the upgrade`, async () => {
      t = await startTestNode({ CHAT_SESSION_SECRET: SECRET });
      const token = await make();
      expect(await refusals(t, token)).toEqual({ http: [401, code], ws: [401, code] });
    });
  }

  it('accepts a well-formed token minted with the right key (the cases above differ from it in one part each)', async () => {
    t = await startTestNode({ CHAT_SESSION_SECRET: SECRET });
    const answer = await getJson(`${t.url}/list-users`, { authorization: `Bearer ${await mint()}` });
    expect(answer.status).toBe(200);
  });

  it('refuses a token issued here whose payload was altered (same signature), while the original still upgrades at once', async () => {
    t = await startTestNode({ CHAT_SESSION_SECRET: SECRET });
    const { token } = await t.login('alice');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<string, unknown>;
    const altered = `${header}.${base64url.encode(JSON.stringify({ ...claims, sub: 'mallory' }))}.${signature}`;
    expect(await refusals(t, altered)).toEqual({ http: [401, 'invalid_token'], ws: [401, 'invalid_token'] });
    const alice = await TestClient.connect(t.wsUrl, { authorization: `Bearer ${token}` });
    expect(alice.frames[0]).toMatchObject({ type: 'welcome', user: 'alice' });
    await alice.close();
  });

  it('issues tokens that another node with the same secret verifies (its own check, not a cache), with exactly the registered claims and the issue time in ms', async () => {
    const issuer = await startTestNode({ CHAT_SESSION_SECRET: SECRET });
    try {
      const { token, expiresAt } = await issuer.login('alice');
      const { payload, protectedHeader } = await jwtVerify(token, key(SECRET), { issuer: SESSION_ISSUER, audience: SESSION_AUDIENCE });
      expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT' });
      expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iat_ms', 'iss', 'jti', 'nbf', 'sub']);
      expect(payload).toMatchObject({ sub: 'alice', nbf: payload.iat, exp: expiresAt / 1000 });
      expect(Math.floor((payload.iat_ms as number) / 1000)).toBe(payload.iat);
      t = await startTestNode({ CHAT_SESSION_SECRET: SECRET });
      expect((await getJson(`${t.url}/list-users`, { authorization: `Bearer ${token}` })).status).toBe(200);
      const alice = await TestClient.connect(t.wsUrl, { authorization: `Bearer ${token}` });
      expect(alice.frames[0]).toMatchObject({ type: 'welcome', user: 'alice' });
      await alice.close();
    } finally {
      await issuer.close();
    }
  });

  it('refuses a revoked token with 401 session_revoked, on HTTP and at the upgrade', async () => {
    t = await startTestNode({ CHAT_SESSION_SECRET: SECRET });
    const { token } = await t.login('alice');
    expect((await getJson(`${t.url}/logout/alice`, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(await refusals(t, token)).toEqual({ http: [401, 'session_revoked'], ws: [401, 'session_revoked'] });
  });
});

describe('session keys: rotation', () => {
  it('verifies a token signed with the previous secret while it is configured as previous, and signs new sessions with the current one', async () => {
    const old = await mint({ secret: PREVIOUS });
    t = await startTestNode({ CHAT_SESSION_SECRET: SECRET, CHAT_SESSION_PREVIOUS_SECRETS: PREVIOUS });
    expect((await getJson(`${t.url}/list-users`, { authorization: `Bearer ${old}` })).status).toBe(200);
    const { token } = await t.login('alice');
    await expect(jwtVerify(token, key(SECRET))).resolves.toBeDefined();
    await expect(jwtVerify(token, key(PREVIOUS))).rejects.toThrow();
  });

  it('refuses the old token once the previous secret is dropped (401 invalid_token)', async () => {
    const old = await mint({ secret: PREVIOUS });
    t = await startTestNode({ CHAT_SESSION_SECRET: SECRET });
    expect(await refusals(t, old)).toEqual({ http: [401, 'invalid_token'], ws: [401, 'invalid_token'] });
  });

  it('reads the keys from CHAT_SESSION_SECRET_FILE: the first line signs, the next lines still verify', async () => {
    const file = join(dir, 'keys-rotation');
    writeFileSync(file, `# current first\n${SECRET}\n\n${PREVIOUS}\n`);
    const old = await mint({ secret: PREVIOUS });
    t = await startTestNode({ CHAT_SESSION_SECRET_FILE: file });
    expect((await getJson(`${t.url}/list-users`, { authorization: `Bearer ${old}` })).status).toBe(200);
    const { token } = await t.login('bob');
    await expect(jwtVerify(token, key(SECRET))).resolves.toBeDefined();
  });
});

describe('session key configuration', () => {
  const configError = (env: Record<string, string>): ConfigError => {
    try {
      loadConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('names CHAT_SESSION_SECRET_FILE when the file cannot be read, is empty or holds a short secret', () => {
    expect(configError({ CHAT_SESSION_SECRET_FILE: join(dir, 'missing') })).toMatchObject({
      variable: 'CHAT_SESSION_SECRET_FILE',
      message: expect.stringMatching(/^CHAT_SESSION_SECRET_FILE: cannot read/),
    });
    const empty = join(dir, 'empty');
    writeFileSync(empty, '# nothing\n\n');
    expect(configError({ CHAT_SESSION_SECRET_FILE: empty }).message).toMatch(/holds no secret/);
    const short = join(dir, 'short');
    writeFileSync(short, `${SECRET}\ntoo-short\n`);
    expect(configError({ CHAT_SESSION_SECRET_FILE: short }).message).toMatch(/secret 2 .* fewer than 32 characters/);
  });

  it('refuses both CHAT_SESSION_SECRET and CHAT_SESSION_SECRET_FILE', () => {
    const file = join(dir, 'both');
    writeFileSync(file, `${SECRET}\n`);
    expect(configError({ CHAT_SESSION_SECRET: SECRET, CHAT_SESSION_SECRET_FILE: file }).variable).toBe('CHAT_SESSION_SECRET_FILE');
  });

  it('reads the OIDC scopes and the device client, naming the variable when one is wrong', () => {
    const base = { CHAT_OIDC_ISSUER: 'https://accounts.google.com', CHAT_OIDC_CLIENT_ID: 'id', CHAT_OIDC_CLIENT_SECRET: 'secret' };
    const config = loadConfig({ ...base, CHAT_OIDC_DEVICE_CLIENT_ID: 'tv', CHAT_OIDC_DEVICE_CLIENT_SECRET: 'tv-secret' });
    expect(config.oidc).toMatchObject({ scopes: 'openid email profile', deviceClient: { clientId: 'tv', clientSecret: 'tv-secret' } });
    expect(config.devLogin).toBe(false);
    expect(configError({ ...base, CHAT_OIDC_SCOPES: 'email profile' }).variable).toBe('CHAT_OIDC_SCOPES');
    expect(configError({ ...base, CHAT_OIDC_DEVICE_CLIENT_ID: 'tv' }).variable).toBe('CHAT_OIDC_DEVICE_CLIENT_SECRET');
    expect(loadConfig({ ...base, CHAT_DEV_LOGIN: 'true' }).devLogin).toBe(true);
  });
});
