/**
 * @module runtime/runtime
 * What the transport and the HTTP routes need of a running supervisor, whichever way facts are ordered:
 * `ChatRuntime` (one node: the supervisor records each fact in its journal and applies it in the same
 * turn) or `ClusterRuntime` (several nodes: facts are proposed to the shared log, and the supervisor
 * steps on what the log commits, on every node alike). Commands that a caller answers for (login,
 * logout, a name binding) are awaited until applied; socket and post outcomes arrive by callback.
 */
import type { SessionIdentity } from '../auth/sessions.ts';
import type { ChatState } from '../domain/state.ts';
import type { ErrorCode } from '../domain/errors.ts';
import type { Conversation, ConversationPage, HistoryPage } from '../journal/journal.ts';
import type { SupervisorEmitted } from '../machines/supervisor-types.ts';

export type Emitted<T extends SupervisorEmitted['type']> = Extract<SupervisorEmitted, { type: T }>;

/** A command whose success the caller announces (200): `commit` resolves once it is recorded and applied. */
export type CommitCommand =
  | { type: 'LOGIN'; user: string; sid: string; exp: number }
  | { type: 'LOGOUT'; user: string; sid: string; exp: number; reason?: 'logout' | 'revoked' }
  | { type: 'BIND_IDENTITY'; user: string; issuer: string; subject: string };

export type PostCommand =
  | { type: 'POST_GROUP'; from: string; text: string; cid?: string | undefined; socket: number }
  | { type: 'POST_DIRECT'; from: string; to: string; text: string; cid?: string | undefined; socket: number };

/** How a post ended, for a client that asked to be told (a Socket.IO acknowledgement). */
export type PostOutcome = { ok: true; id: number } | { ok: false; code: ErrorCode; message: string };

/** A socket joining its user's presence. */
export interface SocketJoin {
  user: string;
  sid: string;
  socket: number;
  issuedAt: number;
  identity: SessionIdentity | undefined;
  /** The resume point the client gave, if any: the socket is greeted once this node's state has reached it (bounded wait). */
  after: number | undefined;
}

export interface Runtime {
  /** The folded state. Read-only for everyone but the supervisor. */
  readonly state: Readonly<ChatState>;
  /**
   * The newest message id this node knows was handed out: the state's sequence, or (several nodes) above it the
   * ids a rollback of the shared log skipped. A client resuming from below it may have missed messages.
   */
  readonly lastId: number;
  /** Not taking new work: shutting down, or failed. */
  readonly draining: boolean;
  /** Able to take work now (several nodes: connected to the log and caught up). */
  readonly ready: boolean;
  start(): Promise<void>;
  /** Shutting down: no new posts; sockets closing are still recorded. */
  drain(): void;
  /** Stops taking work; what is in flight settles (bounded), then the actors stop. */
  stop(): Promise<void>;
  /** Resolves once the command is recorded and applied; throws a ChatError (`unavailable`, `name_taken`) otherwise. */
  commit(command: CommitCommand): Promise<void>;
  /** A message from a socket; a refusal goes to `settle` when given, else it is emitted as `rejected`. */
  post(command: PostCommand, settle?: (outcome: PostOutcome) => void): void;
  /**
   * A socket opens: `greet` runs once the user is listed with it (at once on one node; several nodes: once the
   * log committed its attachment). A refusal is emitted as `rejected` for the socket (`session_revoked`, `unavailable`).
   */
  join(socket: SocketJoin, greet: () => void): void;
  /** A socket that `join` was called for closed. */
  leave(user: string, socket: number): void;
  /** Periodic housekeeping: revocations of expired tokens are forgotten. */
  expireSessions(): void;
  on<T extends SupervisorEmitted['type']>(type: T, handler: (event: Emitted<T>) => void): void;
  history(after: number, limit?: number): HistoryPage;
  conversation(conversation: Conversation, before: number, limit: number): ConversationPage;
  usersByState(): { online: number; grace: number; connecting: number };
  readonly liveActors: number;
  userActorState(user: string): string | undefined;
}
