/**
 * @module domain/names
 * The one user-name rule (PROTOCOL.md): dev login, OIDC login, every frame that names a user, and both
 * clients (the console and the web client) check names with it. No imports, so the browser build can
 * use it too.
 */

export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$/;

/**
 * The key a name is bound under: names differing only in case are one name for binding, so that
 * `Alice@x` cannot be taken by dev login or another identity once `alice@x` is bound.
 */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

export function isValidUsername(value: unknown): value is string {
  return typeof value === 'string' && USERNAME_PATTERN.test(value);
}
