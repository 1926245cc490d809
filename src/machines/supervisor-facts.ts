/**
 * @module machines/supervisor-facts
 * The domain events the supervisor commits, one builder per fact, named as the action that runs it.
 * Each is called once per step (`factOf`, chosen by the command's type, kept for the step by the
 * machine's `pending`, no `assign`: that would copy the snapshot on every fact): the time (`now()`)
 * and a message's id (`seq + 1`, or the shared log's) are taken there once, and `record`, `apply`
 * and `emitCommitted` all read that one event.
 */
import { assertEvent } from 'xstate';
import type { DomainEvent } from '../domain/events.ts';
import { statusOf } from '../domain/state.ts';
import type { SupervisorContext, SupervisorEvent } from './supervisor-types.ts';

type Build = (args: { context: SupervisorContext; event: SupervisorEvent }) => DomainEvent;

export const facts = {
  sessionStarted: ({ context, event }) => {
    assertEvent(event, 'LOGIN');
    return { type: 'SessionStarted', sid: event.sid, user: event.user, exp: event.exp, at: context.now() };
  },
  sessionEnded: ({ context, event }) => {
    assertEvent(event, 'LOGOUT');
    return { type: 'SessionEnded', sid: event.sid, user: event.user, exp: event.exp, reason: event.reason ?? 'logout', at: context.now() };
  },
  identityBound: ({ context, event }) => {
    assertEvent(event, 'BIND_IDENTITY');
    return { type: 'IdentityBound', user: event.user, issuer: event.issuer, subject: event.subject, at: event.at ?? context.now() };
  },
  socketOpened: ({ context, event }) => {
    assertEvent(event, 'SOCKET_OPEN');
    return { type: 'SocketOpened', user: event.user, socket: event.socket, at: context.now() };
  },
  socketClosed: ({ context, event }) => {
    assertEvent(event, 'SOCKET_CLOSE');
    return { type: 'SocketClosed', user: event.user, socket: event.socket, at: context.now() };
  },
  groupMessagePosted: ({ context, event }) => {
    assertEvent(event, 'POST_GROUP');
    const posted: DomainEvent = { type: 'GroupMessagePosted', id: event.id ?? context.chat.seq + 1, from: event.from, text: event.text, ts: event.ts ?? context.now() };
    if (event.cid !== undefined) posted.cid = event.cid;
    return posted;
  },
  directMessagePosted: ({ context, event }) => {
    assertEvent(event, 'POST_DIRECT');
    const posted: DomainEvent = { type: 'DirectMessagePosted', id: event.id ?? context.chat.seq + 1, from: event.from, to: event.to, text: event.text, ts: event.ts ?? context.now() };
    if (event.cid !== undefined) posted.cid = event.cid;
    return posted;
  },
  presenceChanged: ({ context, event }) => {
    assertEvent(event, 'USER_STATUS');
    return { type: 'PresenceChanged', user: event.user, status: event.status, previous: statusOf(context.chat, event.user), at: context.now() };
  },
  sessionsExpired: ({ context, event }) => {
    assertEvent(event, 'EXPIRE_SESSIONS');
    return { type: 'SessionsExpired', at: event.at ?? context.now() };
  },
} satisfies Record<string, Build>;

/** The fact a command commits: one per command type. */
const factFor: { [T in SupervisorEvent['type']]?: Build } = {
  LOGIN: facts.sessionStarted,
  LOGOUT: facts.sessionEnded,
  BIND_IDENTITY: facts.identityBound,
  SOCKET_OPEN: facts.socketOpened,
  SOCKET_CLOSE: facts.socketClosed,
  POST_GROUP: facts.groupMessagePosted,
  POST_DIRECT: facts.directMessagePosted,
  USER_STATUS: facts.presenceChanged,
  EXPIRE_SESSIONS: facts.sessionsExpired,
};

export function factOf(context: SupervisorContext, event: SupervisorEvent): DomainEvent {
  const build = factFor[event.type];
  if (build === undefined) throw new Error(`supervisor: ${event.type} commits no fact`);
  return build({ context, event });
}
