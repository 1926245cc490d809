/**
 * @module transport/close-codes
 * WebSocket close codes the node uses (docs/protocol.md lists what a client should do on each).
 */
export const CloseCode = {
  /** Node shutting down: reconnect with backoff and resume with ?after=. */
  GoingAway: 1001,
  /** The node failed (its journal could not be written): reconnect, to another node or after its restart. */
  InternalError: 1011,
  /**
   * Slow consumer: the node's close policy (close-policy.ts, every SLOW_CONSUMER_CHECK_MS) drops the connection when
   * the send buffer passes CHAT_MAX_BACKPRESSURE or a replay stalls; uWS's own backpressure limit is only a backstop.
   * The client sees 1006 (no close frame); it reconnects and resumes.
   */
  SlowConsumer: 1006,
  /**
   * Several nodes: this node lost the chat engine (Redis) for a whole liveness TTL, or could not attach the socket
   * because the engine was unreachable. Reconnect at once (the load balancer sends you to a node that reaches it) and resume.
   */
  ServiceRestart: 1012,
  /** Policy violation: the socket passed its frame budget or sent too many invalid frames. Do not resend the same. */
  PolicyViolation: 1008,
  /** Logged out (this or another tab): do not reconnect with this session. */
  LoggedOut: 4001,
  /** Session revoked after the socket was admitted, before it opened (logged out elsewhere): log in again. */
  SessionRevoked: 4002,
  /** Session expired: log in again. */
  SessionExpired: 4003,
} as const;
