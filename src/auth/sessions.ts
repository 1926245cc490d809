/**
 * @module auth/sessions
 * Session tokens: JWTs (HS256) signed with fast-jwt and verified with jose. The first configured
 * secret signs; every configured secret verifies, so a key is rotated by adding a new one in front.
 * Signing is on every login's path and fast-jwt signs synchronously with node:crypto's HMAC; jose
 * signs through WebCrypto, whose every call is a round trip to libuv's thread pool (measured: about
 * a fifth of a login + connect + disconnect cycle's server CPU). Verifying is the rare path (tokens
 * this node did not issue or has forgotten), so it stays with jose's claim checks and errors.
 * Revocation is not here: it is a journaled event, checked against the supervisor's state.
 */
import { createHash, randomBytes, randomUUID, webcrypto } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import { errors as joseErrors, jwtVerify } from 'jose';
import { ChatError } from '../domain/errors.ts';

export const SESSION_ISSUER = 'actor-chat';
export const SESSION_AUDIENCE = 'actor-chat';

/** The OpenID Connect identity a session was issued for (claims `oidc_iss`, `oidc_sub`); dev sessions have none. */
export interface SessionIdentity {
  issuer: string;
  subject: string;
}

export interface Session {
  user: string;
  sid: string;
  /** Expiry, epoch seconds. */
  exp: number;
  /**
   * Issue time, epoch milliseconds: the `iat_ms` claim (tokens of older versions: `iat` × 1000, which errs early).
   * Checked against name bindings and the sessions cutoff (domain/state.ts sessionRefused).
   */
  issuedAt: number;
  identity?: SessionIdentity;
}

export interface IssuedSession extends Session {
  token: string;
}

export interface SessionOptions {
  secrets: readonly string[];
  ttlSeconds: number;
  now?: () => number;
}

/** Tokens known valid (issued here or verified once), most recent last: most connects follow a login or a reconnect. */
const RECENT_LIMIT = 10_000;

/**
 * The cache key of a token: its SHA-256, so that the cache holds 44 characters per session rather than the
 * whole token (≈ 0.4 KB per idle user with the token's parts). Only the very same token finds its entry.
 */
function cacheKey(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

export class Sessions {
  private readonly recent = new Map<string, Session>();
  /** HMAC keys imported once into WebCrypto: given raw bytes, jose imports them on every verify (≈ 2× slower). */
  private readonly keys: Promise<webcrypto.CryptoKey[]>;
  /** Signs with the first secret; the claims are all set by `issue`, none from the clock here. */
  private readonly sign: (payload: Record<string, unknown>) => string;
  /** One synchronous verifier per secret, on the real clock (with an injected clock `verifyNow` is not used). */
  private readonly verifiers: Array<(token: string) => Record<string, unknown>>;
  readonly generated: boolean;

  constructor(private readonly options: SessionOptions) {
    this.generated = options.secrets.length === 0;
    const secrets = this.generated ? [randomBytes(32).toString('base64url')] : options.secrets;
    this.sign = createSigner({ key: secrets[0]!, algorithm: 'HS256' });
    this.verifiers = options.now
      ? []
      : secrets.map((secret) => createVerifier({ key: secret, algorithms: ['HS256'], allowedIss: SESSION_ISSUER, allowedAud: SESSION_AUDIENCE }));
    this.keys = Promise.all(
      secrets.map((secret) =>
        webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']),
      ),
    );
  }

  private now(): number {
    return Math.floor(this.nowMs() / 1000);
  }

  private nowMs(): number {
    return (this.options.now ?? Date.now)();
  }

  issue(user: string, identity?: SessionIdentity): IssuedSession {
    const sid = randomUUID();
    const issuedAt = this.nowMs();
    const iat = Math.floor(issuedAt / 1000);
    const exp = iat + this.options.ttlSeconds;
    const claims = identity ? { oidc_iss: identity.issuer, oidc_sub: identity.subject } : {};
    const token = this.sign({ ...claims, iat_ms: issuedAt, sub: user, jti: sid, iss: SESSION_ISSUER, aud: SESSION_AUDIENCE, iat, nbf: iat, exp });
    const session: Session = identity ? { user, sid, exp, issuedAt, identity: { ...identity } } : { user, sid, exp, issuedAt };
    this.remember(token, session);
    return { ...session, token };
  }

  /** Remembers a token known valid (issued here, or verified once), so later upgrades with it are synchronous. */
  private remember(token: string, session: Session): void {
    const key = cacheKey(token);
    this.recent.delete(key);
    this.recent.set(key, session);
    if (this.recent.size > RECENT_LIMIT) this.recent.delete(this.recent.keys().next().value!);
  }

  /**
   * A token this node issued or verified recently and that has not expired, without the (asynchronous) signature check:
   * it lets the WebSocket upgrade complete synchronously. Revocation is still the caller's to check.
   */
  known(token: string): Session | undefined {
    const key = cacheKey(token);
    const session = this.recent.get(key);
    if (session === undefined) return undefined;
    if (session.exp <= this.now()) {
      this.recent.delete(key);
      return undefined;
    }
    return session;
  }

  /**
   * A valid token verified synchronously (signature, algorithm, issuer, audience, time), or undefined — then `verify`
   * says why. A token another node issued thus upgrades in the same turn too: uWS handles a synchronous upgrade best
   * (an asynchronous one whose socket is written only later was dropped right after the handshake by this uWS build).
   */
  verifyNow(token: string): Session | undefined {
    for (const verify of this.verifiers) {
      let payload: Record<string, unknown>;
      try {
        payload = verify(token);
      } catch {
        continue;
      }
      const session = sessionOf(payload);
      if (session) this.remember(token, session);
      return session;
    }
    return undefined;
  }

  /** Verifies signature, algorithm, issuer, audience and time; throws ChatError with a stable code. */
  async verify(token: string): Promise<Session> {
    let lastError: unknown;
    for (const key of await this.keys) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: SESSION_ISSUER,
          audience: SESSION_AUDIENCE,
          currentDate: new Date(this.now() * 1000),
        });
        const session = sessionOf(payload);
        if (!session) throw new ChatError('invalid_token', 'the session token lacks its subject, id, issue time or expiry');
        this.remember(token, session);
        return session;
      } catch (error) {
        if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) throw toChatError(error);
        lastError = error;
      }
    }
    throw toChatError(lastError);
  }
}

/** The session a verified token's claims describe, or undefined when a claim it needs is missing. */
function sessionOf(payload: Record<string, unknown>): Session | undefined {
  if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.exp !== 'number' || typeof payload.iat !== 'number') return undefined;
  const issuedAt = typeof payload.iat_ms === 'number' ? payload.iat_ms : payload.iat * 1000;
  const session: Session = { user: payload.sub, sid: payload.jti, exp: payload.exp, issuedAt };
  if (typeof payload.oidc_iss === 'string' && typeof payload.oidc_sub === 'string') session.identity = { issuer: payload.oidc_iss, subject: payload.oidc_sub };
  return session;
}

function toChatError(error: unknown): ChatError {
  if (error instanceof ChatError) return error;
  if (error instanceof joseErrors.JWTExpired) return new ChatError('session_expired', 'the session has expired; log in again', { cause: error });
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return new ChatError('invalid_token', `the session token is not valid here (${error.claim}: ${error.reason})`, { cause: error });
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new ChatError('invalid_token', 'the session token signature does not verify', { cause: error });
  }
  return new ChatError('invalid_token', 'the session token is malformed or uses a refused algorithm', { cause: error });
}
