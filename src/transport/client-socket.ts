/**
 * @module transport/client-socket
 * What the gateway knows of a client socket, whatever carries it: the per-connection state
 * (`SocketData`) and the few calls delivery, replay and frame handling make. A `/ws` socket is
 * uWebSockets.js's own WebSocket, passed through with no wrapper; a Socket.IO connection is an
 * adapter object with the same calls (transport/socketio-socket.ts).
 */
import type { ChatSocket } from './types.ts';
import type { FrameBudgetState } from './frame-budget.ts';
import type { WatchState } from './watches.ts';
import type { SessionIdentity } from '../auth/sessions.ts';
import type { ReplayProgress } from './slow-consumers.ts';

export interface SocketData extends FrameBudgetState, WatchState, ReplayProgress {
  id: number;
  user: string;
  sid: string;
  /** Session expiry, epoch seconds. */
  exp: number;
  /** Session issue time, epoch ms, and its OIDC identity if any: checked again when the user's name is bound. */
  issuedAt: number;
  identity: SessionIdentity | undefined;
  /** Resume point from `?after=` (or Socket.IO's `auth.after`), if any. */
  after: number | undefined;
  /** While replaying missed messages: the last id sent. Undefined once the socket follows live traffic. */
  cursor: number | undefined;
  closed: boolean;
  /** The runtime took this socket into its user's presence (`join`), so its close is reported (`leave`); false once refused. */
  opened: boolean;
  /** The welcome was sent (several nodes: after the log committed the user's attachment here). */
  greeted: boolean;
}

/** A socket of a user: `send` takes a `/ws` frame (JSON text); `end` closes with a protocol close code. */
export type ClientSocket = ChatSocket<SocketData>;

/**
 * The answer to one client request, when the client asked for one (a Socket.IO acknowledgement):
 * the frame's outcome goes there instead of an `error` frame on the socket.
 */
export type Acknowledge = (outcome: AckOutcome) => void;

/** `{ok:true, id}` for a post; `{ok:true, ...answer}` for a query (users, history); `{ok:false, code, message}`. */
export type AckOutcome = ({ ok: true } & Record<string, unknown>) | { ok: false; code: string; message: string };

/** Where a frame for many sockets goes: one encoding, copied to every subscriber by the transport. */
export interface Fanout {
  publish(topic: string, frame: string): void;
  subscribers(topic: string): number;
}

/** Live group traffic (and presence in `all` mode). */
export const TOPIC_ALL = 'all';
/** Presence of one user, in `watch` mode. */
export const presenceTopic = (user: string): string => `p:${user}`;
