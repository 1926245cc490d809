/**
 * @module machines/supervisor-types
 * The supervisor's input, context, commands and emitted events, and where a user's actor is found
 * (its shard and slot): what the runtime, the transport and a replay need without the machine itself.
 */
import type { SessionIdentity } from '../auth/sessions.ts';
import type { AnyActorRef } from 'xstate';
import type { DomainEvent, PresenceStatus } from '../domain/events.ts';
import type { ErrorCode } from '../domain/errors.ts';
import type { ChatState } from '../domain/state.ts';
import type { Placements } from './placement.ts';

export interface SupervisorInput {
  chat: ChatState;
  graceMs: number;
  /** Most user actors one shard holds. */
  shardSize: number;
  /** The clock, injected so that the machine stays deterministic under test. */
  now: () => number;
}

export interface SupervisorContext extends SupervisorInput {
  /** Where each live user actor is (shard and slot). */
  placement: Placements;
}

export type SupervisorEvent =
  | { type: 'LOGIN'; user: string; sid: string; exp: number }
  /** `reason` `revoked`: the node ends the session itself (its name became bound to an OIDC identity). */
  | { type: 'LOGOUT'; user: string; sid: string; exp: number; reason?: 'logout' | 'revoked' }
  /** `at`: the binding's time as the log committed it (several nodes), so every node refuses the same sessions. */
  | { type: 'BIND_IDENTITY'; user: string; issuer: string; subject: string; at?: number }
  /** `issuedAt` and `identity`: the session's, checked against bindings and the cutoff (without `issuedAt`, only revocations). */
  | { type: 'SOCKET_OPEN'; user: string; sid: string; socket: number; issuedAt?: number; identity?: SessionIdentity | undefined }
  | { type: 'SOCKET_CLOSE'; user: string; socket: number }
  /**
   * `id` and `ts`: given when the message was committed by the shared log (several nodes), which assigns the
   * one sequence; without them (one node) the supervisor takes the next id itself.
   */
  | { type: 'POST_GROUP'; from: string; text: string; cid?: string; socket: number; id?: number; ts?: number }
  | { type: 'POST_DIRECT'; from: string; to: string; text: string; cid?: string; socket: number; id?: number; ts?: number }
  | { type: 'USER_STATUS'; user: string; status: PresenceStatus }
  /** Sent by the grace timer armed through `armGrace`. */
  | { type: 'GRACE_EXPIRED'; user: string }
  | { type: 'EXPIRE_SESSIONS'; at?: number }
  | { type: 'RECOVER' }
  | { type: 'DRAIN' };

export type SupervisorEmitted =
  | { type: 'committed'; event: DomainEvent }
  | { type: 'rejected'; socket: number; code: ErrorCode; message: string; cid?: string };

/** Params of `record` and `apply`. */
export type Commit = { event: DomainEvent };

export const shardId = (index: number): string => `shard-${index}`;

/**
 * A user actor's id in its shard is its slot number, not its name: XState copies a parent's children
 * object on every spawn and stop, and with names as keys each copy builds new V8 hidden classes
 * (≈ 0.4 µs per child, measured); small integer keys are array elements, copied in one go.
 */
export const slotId = (slot: number): string => String(slot);

/** The live actor of a user, if any (read from its shard's children). */
export function userActorOf(supervisor: { context: SupervisorContext; children: Record<string, unknown> }, user: string): AnyActorRef | undefined {
  const place = supervisor.context.placement.get(user);
  if (place === undefined) return undefined;
  const shard = supervisor.children[shardId(place.shard)] as AnyActorRef | undefined;
  return shard?.getSnapshot().children[slotId(place.slot)] as AnyActorRef | undefined;
}
