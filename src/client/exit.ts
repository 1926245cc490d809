/**
 * @module client/exit
 * The console client's exit codes (shared by the client and its sign-in).
 */

/** Exit codes: 0 logged out normally, 1 failure, 2 bad usage or user name, 3 session ended by the node. */
export const Exit = { Ok: 0, Failure: 1, Usage: 2, SessionEnded: 3 } as const;
