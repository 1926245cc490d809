/**
 * @module domain/errors
 * Errors with a stable `code` that clients can act on, and the HTTP status each maps to.
 */

export type ErrorCode =
  | 'invalid_username'
  | 'invalid_frame'
  | 'invalid_query'
  | 'unknown_type'
  | 'text_too_long'
  | 'frame_too_large'
  | 'user_offline'
  | 'rate_limited'
  | 'unauthorized'
  | 'session_expired'
  | 'session_revoked'
  | 'invalid_token'
  | 'forbidden'
  | 'not_found'
  | 'dev_login_disabled'
  | 'name_taken'
  | 'too_many_sockets'
  | 'too_many_watches'
  | 'server_full'
  | 'shutting_down'
  | 'unavailable'
  | 'internal_error';

const STATUS: Partial<Record<ErrorCode, number>> = {
  invalid_username: 400,
  invalid_query: 400,
  invalid_frame: 400,
  unauthorized: 401,
  session_expired: 401,
  session_revoked: 401,
  invalid_token: 401,
  forbidden: 403,
  not_found: 404,
  dev_login_disabled: 404,
  name_taken: 409,
  too_many_sockets: 429,
  too_many_watches: 429,
  rate_limited: 429,
  server_full: 503,
  shutting_down: 503,
  unavailable: 503,
  internal_error: 500,
};

export class ChatError extends Error {
  override readonly name = 'ChatError';
  /** The client's id of the refused command, when it had a usable one. */
  readonly cid: string | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; cid?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.cid = options?.cid;
  }

  get status(): number {
    return STATUS[this.code] ?? 400;
  }
}

/** The JSON body every HTTP error carries (PROTOCOL.md). */
export function errorBody(code: ErrorCode, message: string): { error: { code: ErrorCode; message: string } } {
  return { error: { code, message } };
}
