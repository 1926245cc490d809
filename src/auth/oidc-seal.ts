/**
 * @module auth/oidc-seal
 * Short-lived, encrypted and authenticated tokens (JWE, `dir` + `A256GCM`, via jose) that carry the
 * pending state of a login or device flow through the browser or the console client, so the node keeps
 * no per-flow memory; plus a bounded cache of used token ids that makes each token single-use on this node.
 */
import { createHash, hkdfSync, randomUUID } from 'node:crypto';
import { EncryptJWT, errors, jwtDecrypt, type JWTPayload } from 'jose';
import { OidcError, type OidcErrorCode } from './oidc-errors.ts';

/** A secret string (any length, HKDF-derived) or a raw 32-byte key; the first one seals, all unseal. */
export type SealSecret = string | Uint8Array;

interface SealKey {
  kid: string;
  key: Uint8Array;
}

const HKDF_INFO = 'actor-chat/oidc-seal/v1';

function deriveKey(secret: SealSecret): SealKey {
  const ikm = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (ikm.length < 16) throw new TypeError('OIDC seal secret must be at least 16 bytes');
  const key = new Uint8Array(hkdfSync('sha256', ikm, Buffer.alloc(0), HKDF_INFO, 32));
  const kid = createHash('sha256').update(key).digest('base64url').slice(0, 11);
  return { kid, key };
}

/** What an unsealed token carries besides the caller's fields. */
export interface Sealed<T> {
  data: T;
  jti: string;
  /** Expiry, epoch milliseconds. */
  expiresAt: number;
}

export interface SealErrorCodes {
  invalid: OidcErrorCode;
  expired: OidcErrorCode;
}

export class Sealer {
  readonly #keys: SealKey[];

  constructor(secrets: SealSecret | readonly SealSecret[]) {
    const list = Array.isArray(secrets) ? secrets : [secrets as SealSecret];
    if (list.length === 0) throw new TypeError('OIDC seal needs at least one secret');
    this.#keys = list.map(deriveKey);
  }

  /** Seals `data` for `purpose` (the JWT audience, so a token of one purpose is refused for another). */
  async seal<T extends object>(purpose: string, data: T, ttlSeconds: number): Promise<string> {
    const [current] = this.#keys;
    if (!current) throw new TypeError('OIDC seal has no key');
    const nowSeconds = Math.floor(Date.now() / 1000);
    return new EncryptJWT({ d: data })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: current.kid })
      .setAudience(purpose)
      .setJti(randomUUID())
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + ttlSeconds)
      .encrypt(current.key);
  }

  async unseal<T>(purpose: string, token: string, codes: SealErrorCodes): Promise<Sealed<T>> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtDecrypt(token, ({ kid }) => this.#keyFor(kid), {
        audience: purpose,
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
        requiredClaims: ['jti', 'exp', 'd'],
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new OidcError(codes.expired, 'the flow has expired, start again', { cause: err });
      throw new OidcError(codes.invalid, 'the flow token is not valid', { cause: err });
    }
    return { data: payload['d'] as T, jti: payload.jti as string, expiresAt: (payload.exp as number) * 1000 };
  }

  #keyFor(kid: string | undefined): Uint8Array {
    const found = this.#keys.find((k) => k.kid === kid);
    if (!found) throw new errors.JWEDecryptionFailed('no seal key with this kid');
    return found.key;
  }
}

/**
 * Ids of tokens already used, each kept until its token expires. Bounded: when full, the entries closest
 * to expiry go first (the issuer's one-time authorization/device codes remain the backstop).
 */
export class UsedTokens {
  readonly #expiry = new Map<string, number>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** Marks `jti` used; false when it already was (a replay). */
  use(jti: string, expiresAt: number): boolean {
    const now = Date.now();
    const known = this.#expiry.get(jti);
    if (known !== undefined && known > now) return false;
    this.#prune(now);
    this.#expiry.set(jti, expiresAt);
    return true;
  }

  has(jti: string): boolean {
    const known = this.#expiry.get(jti);
    return known !== undefined && known > Date.now();
  }

  get size(): number {
    return this.#expiry.size;
  }

  #prune(now: number): void {
    // One instance holds one kind of token with one TTL, so insertion order is expiry order: expired
    // entries are at the front, and when full the oldest goes first. Amortised O(1) per insert.
    for (const [jti, exp] of this.#expiry) {
      if (exp > now && this.#expiry.size < this.#max) break;
      this.#expiry.delete(jti);
    }
  }
}
