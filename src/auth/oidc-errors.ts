/**
 * @module auth/oidc-errors
 * The one error class of the OpenID Connect login module: a stable `code` (asserted by tests, sent to
 * clients as `{"error":{"code"}}`), the HTTP status the node should answer with, and the `cause`.
 */

/** Stable error codes of the OIDC login and device flows. Add codes; never rename one. */
export type OidcErrorCode =
  | 'oidc_discovery_failed' // the issuer's metadata could not be fetched or is unusable
  | 'oidc_insecure_issuer' // an http:// issuer that is not on loopback
  | 'oidc_idp_unavailable' // the issuer did not answer (network error, timeout)
  | 'oidc_flow_missing' // the callback came without the flow cookie
  | 'oidc_flow_invalid' // the flow cookie was tampered with, is for another purpose or another key
  | 'oidc_flow_expired' // the flow cookie is older than its 10 minute lifetime
  | 'oidc_flow_replayed' // the flow was already used for a callback on this node
  | 'oidc_state_mismatch' // the callback's `state` is not the one this browser's flow sent
  | 'oidc_nonce_mismatch' // the ID token's `nonce` is not the one this browser's flow sent
  | 'oidc_access_denied' // the issuer reports that the user refused or aborted
  | 'oidc_callback_failed' // the code exchange or ID token validation failed (PKCE, replayed code, iss, aud, ...)
  | 'invalid_username' // no claim gives a name that fits the user-name rule
  | 'device_flow_unsupported' // the issuer has no device_authorization_endpoint
  | 'device_handle_invalid' // the device handle was tampered with or is not a device handle
  | 'device_handle_used' // the device handle already produced a session
  | 'oidc_device_failed'; // the device flow failed for another reason the issuer gave

const STATUS: Record<OidcErrorCode, number> = {
  oidc_discovery_failed: 502,
  oidc_insecure_issuer: 500,
  oidc_idp_unavailable: 502,
  oidc_flow_missing: 400,
  oidc_flow_invalid: 400,
  oidc_flow_expired: 400,
  oidc_flow_replayed: 400,
  oidc_state_mismatch: 400,
  oidc_nonce_mismatch: 400,
  oidc_access_denied: 403,
  oidc_callback_failed: 401,
  invalid_username: 400,
  device_flow_unsupported: 501,
  device_handle_invalid: 400,
  device_handle_used: 410,
  oidc_device_failed: 502,
};

export class OidcError extends Error {
  override readonly name = 'OidcError';
  readonly code: OidcErrorCode;
  /** The HTTP status the node answers with for this error. */
  readonly status: number;

  constructor(code: OidcErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.status = STATUS[code];
  }
}

export function isOidcError(err: unknown, code?: OidcErrorCode): err is OidcError {
  return err instanceof OidcError && (code === undefined || err.code === code);
}
