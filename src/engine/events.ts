/**
 * @module engine/events
 * What travels through the log when several nodes share it: the domain events that change shared
 * state (messages, sessions, name bindings) plus the cluster presence events (a user attached to or
 * detached from a node, a grace period ending, a node declared down, a fence after a rollback).
 * Socket counts and presence changes stay local: every node derives them from these.
 */
import type {
  DirectMessagePosted,
  GroupMessagePosted,
  IdentityBound,
  SessionEnded,
  SessionStarted,
  SessionsExpired,
} from '../domain/events.ts';

/** A node incarnation: one process start. Never reused, so a restarted node is a new one. */
export type NodeId = string;

/** The user's first socket on `node`; void if session `sid` is revoked at its position in the log. */
export interface UserAttached {
  type: 'UserAttached';
  user: string;
  node: NodeId;
  sid: string;
  at: number;
}

/** The user's last socket on `node` closed. No node left: grace starts, its epoch is this entry's id. */
export interface UserDetached {
  type: 'UserDetached';
  user: string;
  node: NodeId;
  at: number;
}

/** The grace that started at log entry `epoch` ran out: the user goes offline (stale epochs are refused). */
export interface GraceExpired {
  type: 'GraceExpired';
  user: string;
  epoch: string;
  at: number;
}

/** `node`'s heartbeat expired; `by` declared it down. Its users are detached (grace, epoch = this entry). */
export interface NodeDown {
  type: 'NodeDown';
  node: NodeId;
  by: NodeId;
  at: number;
}

/** Written by the log itself after a rollback: entries after `top` and up to this one were lost. */
export interface Fenced {
  type: 'Fenced';
  /** The log's top when the rollback was found. */
  top: string;
  /** The furthest entry the fencing node had applied (missing from the log). */
  applied: string;
  by: NodeId;
}

/** A message as proposed: the log assigns its id. */
export type ProposedMessage = Omit<GroupMessagePosted, 'id'> | Omit<DirectMessagePosted, 'id'>;

export type ProposedEvent =
  | ProposedMessage
  | SessionStarted
  | SessionEnded
  | SessionsExpired
  | IdentityBound
  | UserAttached
  | UserDetached
  | GraceExpired
  | NodeDown;

/** What the log holds: the proposals as committed (messages with their id) and the log's own fences. */
export type LogEvent = Exclude<ProposedEvent, ProposedMessage> | GroupMessagePosted | DirectMessagePosted | Fenced;
