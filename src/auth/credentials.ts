/**
 * @module auth/credentials
 * Finds and checks the session a request presents: `Authorization: Bearer <token>` first,
 * then the `session` cookie. Used by HTTP routes and the WebSocket upgrade alike.
 */
import { parse as parseCookie } from 'cookie';
import { ChatError } from '../domain/errors.ts';
import type { Session, Sessions } from './sessions.ts';

export interface PresentedSession extends Session {
  via: 'bearer' | 'cookie';
}

export function findToken(headers: Record<string, string>): { token: string; via: 'bearer' | 'cookie' } | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (match) return { token: match[1]!, via: 'bearer' };
  }
  const cookieHeader = headers.cookie;
  if (!cookieHeader) return undefined;
  const token = parseCookie(cookieHeader).session;
  return token ? { token, via: 'cookie' } : undefined;
}

export async function authenticate(
  headers: Record<string, string>,
  sessions: Sessions,
  isRevoked: (session: Session) => boolean,
): Promise<PresentedSession> {
  return authenticateKnown(headers, sessions, isRevoked) ?? checked(await verifyPresented(headers, sessions), isRevoked);
}

/** The synchronous path: a token this node issued or checked recently (Sessions.known), or any valid one (Sessions.verifyNow); else undefined. */
export function authenticateKnown(
  headers: Record<string, string>,
  sessions: Sessions,
  isRevoked: (session: Session) => boolean,
): PresentedSession | undefined {
  const found = presented(headers);
  const session = sessions.known(found.token) ?? sessions.verifyNow(found.token);
  return session === undefined ? undefined : checked({ ...session, via: found.via }, isRevoked);
}

function presented(headers: Record<string, string>): { token: string; via: 'bearer' | 'cookie' } {
  const found = findToken(headers);
  if (!found) throw new ChatError('unauthorized', 'log in first: send a session cookie or an Authorization: Bearer token');
  return found;
}

async function verifyPresented(headers: Record<string, string>, sessions: Sessions): Promise<PresentedSession> {
  const found = presented(headers);
  return { ...(await sessions.verify(found.token)), via: found.via };
}

function checked(session: PresentedSession, isRevoked: (session: Session) => boolean): PresentedSession {
  if (isRevoked(session)) throw new ChatError('session_revoked', 'this session was logged out');
  return session;
}
