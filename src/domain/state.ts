/**
 * @module domain/state
 * Chat state as a fold over domain events: presence list, revocations, OIDC name bindings, the
 * sessions cutoff and the one message sequence. No entry per live session: a token is checked by
 * `sessionRefused` against what is here (docs/security.md, "Sessions"). `evolve` applies one event in place (O(log n) per event); replaying
 * the journal through it rebuilds exactly the live state.
 */
import type { DomainEvent, PresenceStatus } from './events.ts';
import { SortedMap } from './sorted-map.ts';
import { nameKey } from './names.ts';

export type ListedStatus = Exclude<PresenceStatus, 'offline'>;

export interface BoundIdentity {
  issuer: string;
  subject: string;
  /** When the name was bound (epoch ms): sessions of that name issued before it without this identity are refused. */
  at?: number;
}

/** What a session check needs of a token: its id, user, issue time (epoch ms) and OIDC identity, if any. */
export interface SessionClaims {
  sid: string;
  user: string;
  issuedAt: number;
  identity?: { issuer: string; subject: string } | undefined;
}

export interface ChatState {
  /** The newest message id handed out (group and direct share it). */
  seq: number;
  /** Users that are listed: online or in grace, sorted by name. */
  presence: SortedMap<string, ListedStatus>;
  /** How many of the listed users are online (not in grace). */
  online: number;
  /** Open sockets per user. */
  sockets: Map<string, number>;
  /** Revoked session ids with their token expiry (forgotten after it). */
  revoked: Map<string, number>;
  /** User names bound to an OpenID Connect identity (issuer + subject), keyed by `nameKey` (lower case). */
  identities: Map<string, BoundIdentity>;
  /** Every session issued at or before this time (epoch ms; 0: none) is refused: set by a journal repair, in the snapshot it writes. */
  sessionsCutoff: number;
}

export function createChatState(): ChatState {
  return {
    seq: 0,
    presence: new SortedMap<string, ListedStatus>(),
    online: 0,
    sockets: new Map(),
    revoked: new Map(),
    identities: new Map(),
    sessionsCutoff: 0,
  };
}

export function evolve(state: ChatState, event: DomainEvent): ChatState {
  switch (event.type) {
    case 'GroupMessagePosted':
    case 'DirectMessagePosted':
      state.seq = event.id;
      return state;
    case 'SessionStarted':
      // An audit fact: authentication needs no entry per live session (see sessionRefused).
      return state;
    case 'SessionEnded':
      state.revoked.set(event.sid, event.exp);
      return state;
    case 'SocketOpened':
      state.sockets.set(event.user, (state.sockets.get(event.user) ?? 0) + 1);
      return state;
    case 'SocketClosed':
      return closeSocket(state, event.user);
    case 'PresenceChanged':
      return setPresence(state, event.user, event.status);
    case 'SessionsExpired':
      return forgetExpired(state, event.at);
    case 'IdentityBound':
      // First binding wins, case-insensitively (older journals may hold two spellings of one name).
      if (!state.identities.has(nameKey(event.user))) state.identities.set(nameKey(event.user), { issuer: event.issuer, subject: event.subject, at: event.at });
      return state;
  }
}

/**
 * Whether a (signature-checked, unexpired) session must be refused (`session_revoked`): it was logged out or
 * revoked; it was issued at or before the sessions cutoff (a journal repair); or its name was bound to an OIDC
 * identity after it was issued and it does not carry that identity (a dev session of a name now someone's).
 * Ties are refused (a session issued in the very millisecond of a binding came before it): the error is on
 * the side of logging in again.
 */
export function sessionRefused(state: Readonly<ChatState>, session: SessionClaims): boolean {
  if (state.revoked.has(session.sid)) return true;
  if (session.issuedAt <= state.sessionsCutoff) return true;
  const bound = state.identities.get(nameKey(session.user));
  if (bound === undefined || bound.at === undefined) return false;
  const carries = session.identity !== undefined && session.identity.issuer === bound.issuer && session.identity.subject === bound.subject;
  return !carries && session.issuedAt <= bound.at;
}

function closeSocket(state: ChatState, user: string): ChatState {
  const open = (state.sockets.get(user) ?? 0) - 1;
  if (open > 0) state.sockets.set(user, open);
  else state.sockets.delete(user);
  return state;
}

function setPresence(state: ChatState, user: string, status: PresenceStatus): ChatState {
  const before = state.presence.get(user);
  if (before === 'online') state.online -= 1;
  if (status === 'offline') {
    state.presence.delete(user);
    return state;
  }
  state.presence.set(user, status);
  if (status === 'online') state.online += 1;
  return state;
}

/** `now` is epoch milliseconds; session expiries are epoch seconds, as in the JWT. */
function forgetExpired(state: ChatState, now: number): ChatState {
  const nowSeconds = now / 1000;
  for (const [sid, exp] of state.revoked) if (exp <= nowSeconds) state.revoked.delete(sid);
  return state;
}

export function replay(events: Iterable<DomainEvent>, state: ChatState = createChatState()): ChatState {
  for (const event of events) evolve(state, event);
  return state;
}

export function statusOf(state: ChatState, user: string): PresenceStatus {
  return state.presence.get(user) ?? 'offline';
}

export interface UserPage {
  users: Array<{ name: string; status: ListedStatus }>;
  online: number;
  total: number;
  next: string | null;
}

/** One page of the presence list, sorted by name, strictly after `after`. */
export function listUsers(state: ChatState, after: string | undefined, limit: number): UserPage {
  const users: UserPage['users'] = [];
  const start = after === undefined ? state.presence.minKey() : state.presence.nextHigherKey(after);
  let next: string | null = null;
  if (start !== undefined && limit > 0) {
    for (const [name, status] of state.presence.entries(start)) {
      if (users.length === limit) {
        next = users[users.length - 1]!.name;
        break;
      }
      users.push({ name, status });
    }
  }
  return { users, online: state.online, total: state.presence.size, next };
}

/** A plain-JSON picture of the state, for comparing a replay with the live node and for snapshots. */
export function describeState(state: ChatState): {
  seq: number;
  presence: Array<[string, ListedStatus]>;
  online: number;
  sockets: Array<[string, number]>;
  revoked: Array<[string, number]>;
  identities: Array<[string, BoundIdentity]>;
  sessionsCutoff: number;
} {
  const sorted = <T>(entries: Iterable<[string, T]>) => [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    seq: state.seq,
    presence: [...state.presence.entries()],
    online: state.online,
    sockets: sorted(state.sockets),
    revoked: sorted(state.revoked),
    identities: sorted(state.identities),
    sessionsCutoff: state.sessionsCutoff,
  };
}
