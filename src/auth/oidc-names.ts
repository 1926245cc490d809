/**
 * @module auth/oidc-names
 * Maps the claims of an OpenID identity to the chat's display name: the configured claim (default
 * `email`), then `preferred_username`, then one derived from `sub`, each checked against the user-name
 * rule of `domain/names.ts`. Pure: no I/O, so it is unit-tested offline.
 */
import { createHash } from 'node:crypto';
import { isValidUsername } from '../domain/names.ts';
import { OidcError } from './oidc-errors.ts';

export type Claims = Readonly<Record<string, unknown>>;

export interface NameChoice {
  name: string;
  /** Which claim gave the name: the configured one, `preferred_username`, `sub`, or `sub-hash`. */
  from: string;
}

/** The claim's value if it is a string that is a valid user name as is (after trimming). */
function validName(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return isValidUsername(trimmed) ? trimmed : undefined;
}

/**
 * Chooses the display name. A claim that is present but breaks the rule is skipped rather than
 * rewritten: rewriting (`Alice Smith` → `Alice_Smith`) could land on someone else's name. An `email`
 * is used only when `email_verified` is exactly `true`: an unverified (or unstated) address would let
 * anyone who types someone else's e-mail at a lax issuer take that person's name. The last resort, a
 * `sub` that breaks the rule, becomes `u-` plus 20 hex digits of SHA-256(issuer, sub): stable per
 * identity, and always valid.
 */
export function chooseDisplayName(claims: Claims, nameClaim: string, issuer: string): NameChoice {
  const order = nameClaim === 'preferred_username' ? [nameClaim] : [nameClaim, 'preferred_username'];
  for (const claim of order) {
    if (claim === 'email' && claims['email_verified'] !== true) continue;
    const name = validName(claims[claim]);
    if (name !== undefined) return { name, from: claim };
  }
  const sub = claims['sub'];
  if (typeof sub !== 'string' || sub.length === 0) {
    throw new OidcError('invalid_username', 'the identity has no usable name claim and no subject');
  }
  const fromSub = validName(sub);
  if (fromSub !== undefined) return { name: fromSub, from: 'sub' };
  const digest = createHash('sha256').update(`${issuer}\n${sub}`).digest('hex').slice(0, 20);
  return { name: `u-${digest}`, from: 'sub-hash' };
}
