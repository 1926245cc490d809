/**
 * @module runtime/log-commands
 * Commands as the events they propose, and a committed log entry as the supervisor commands it stands for, the same on every node: messages
 * carry the log's id and time; a session, logout, binding or sweep is the one-node command with the
 * log's time; attachments change the cluster presence (cluster-presence.ts) and each user gaining or
 * losing an attachment is, to the user actor, a socket opening or closing; a grace expiry is applied
 * only for the grace it names.
 */
import type { Committed } from '../engine/log.ts';
import type { SupervisorEvent } from '../machines/supervisor-types.ts';
import type { ProposedEvent } from '../engine/events.ts';
import type { ClusterPresence } from './cluster-presence.ts';
import type { CommitCommand, PostCommand } from './runtime.ts';

/** What a command proposes to the log, stamped with this node's clock (every node then applies that one time). */
export function proposalOf(command: CommitCommand | PostCommand, at: number): ProposedEvent {
  switch (command.type) {
    case 'LOGIN':
      return { type: 'SessionStarted', user: command.user, sid: command.sid, exp: command.exp, at };
    case 'LOGOUT':
      return { type: 'SessionEnded', user: command.user, sid: command.sid, exp: command.exp, reason: command.reason ?? 'logout', at };
    case 'BIND_IDENTITY':
      return { type: 'IdentityBound', user: command.user, issuer: command.issuer, subject: command.subject, at };
    case 'POST_GROUP':
      return { type: 'GroupMessagePosted', from: command.from, text: command.text, ts: at, ...(command.cid === undefined ? {} : { cid: command.cid }) };
    case 'POST_DIRECT':
      return { type: 'DirectMessagePosted', from: command.from, to: command.to, text: command.text, ts: at, ...(command.cid === undefined ? {} : { cid: command.cid }) };
  }
}

/** `socketOf`: this node's socket that posted the message with that request number, if any. */
export function translate(entry: Committed, presence: ClusterPresence, self: string, socketOf: (req: number) => number | undefined): SupervisorEvent[] {
  const event = entry.event;
  const socket = entry.origin?.node === self ? (socketOf(entry.origin.req) ?? 0) : 0;
  const cid = 'cid' in event && event.cid !== undefined ? { cid: event.cid } : {};
  switch (event.type) {
    case 'GroupMessagePosted':
      return [{ type: 'POST_GROUP', from: event.from, text: event.text, socket, id: event.id, ts: event.ts, ...cid }];
    case 'DirectMessagePosted':
      return [{ type: 'POST_DIRECT', from: event.from, to: event.to, text: event.text, socket, id: event.id, ts: event.ts, ...cid }];
    case 'SessionStarted':
      return [{ type: 'LOGIN', user: event.user, sid: event.sid, exp: event.exp }];
    case 'SessionEnded':
      presence.logout(event.user);
      return [{ type: 'LOGOUT', user: event.user, sid: event.sid, exp: event.exp, reason: event.reason }];
    case 'IdentityBound':
      return [{ type: 'BIND_IDENTITY', user: event.user, issuer: event.issuer, subject: event.subject, at: event.at }];
    case 'SessionsExpired':
      return [{ type: 'EXPIRE_SESSIONS', at: event.at }];
    case 'UserAttached':
      // Revoked sessions never reach here: the append script refused them at this position.
      return presence.attach(event.node, event.user) ? [{ type: 'SOCKET_OPEN', user: event.user, sid: event.sid, socket: 0 }] : [];
    case 'UserDetached':
      return presence.detach(event.node, event.user, entry.id, entry.origin?.node ?? event.node) ? [{ type: 'SOCKET_CLOSE', user: event.user, socket: 0 }] : [];
    case 'NodeDown':
      return presence.nodeDown(event.node, entry.id, event.by).map((user) => ({ type: 'SOCKET_CLOSE', user, socket: 0 }));
    case 'GraceExpired':
      return presence.expire(event.user, event.epoch) ? [{ type: 'GRACE_EXPIRED', user: event.user }] : [];
    case 'Fenced':
      // Written by the log after a rollback: the next message carries an id above every id any node saw.
      return [];
  }
}
