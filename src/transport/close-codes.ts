/**
 * @module transport/close-codes
 * WebSocket close codes the node uses (docs/protocol.md lists what a client should do on each).
 */
export const CloseCode = {
  /** Node shutting down: reconnect with backoff and resume with ?after=. */
  GoingAway: 1001,
  /** The node failed (its journal could not be written): reconnect, to another node or after its restart. */
  InternalError: 1011,
  /** Slow consumer: closed by uWS when the send buffer passes maxBackpressure; reconnect and resume. */
  SlowConsumer: 1006,
  /** Policy violation: the socket passed its frame budget or sent too many invalid frames. Do not resend the same. */
  PolicyViolation: 1008,
  /** Logged out (this or another tab): do not reconnect with this session. */
  LoggedOut: 4001,
  /** Session revoked: log in again. */
  SessionRevoked: 4002,
  /** Session expired: log in again. */
  SessionExpired: 4003,
} as const;
