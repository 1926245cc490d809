/**
 * @module domain/names
 * The user-name rule shared by dev login, OIDC login and every frame that names a user.
 */

export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$/;

export function isValidUsername(value: unknown): value is string {
  return typeof value === 'string' && USERNAME_PATTERN.test(value);
}
