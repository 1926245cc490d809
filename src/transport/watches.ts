/**
 * @module transport/watches
 * `watch` / `unwatch` frames in `watch` presence mode: one presence topic per watched user, at most
 * `CHAT_MAX_WATCHES` per socket. A watch frame that would pass the cap is refused whole
 * (`too_many_watches`), so the client knows exactly what it follows. uWS drops a socket's subscriptions
 * when it closes; the count lives in the socket's user data and goes with it.
 */
import { ChatError } from '../domain/errors.ts';
import type { PresenceStatus } from '../domain/events.ts';
import { presenceTopic } from './client-socket.ts';
import type { ChatSocket } from './types.ts';

export interface WatchState {
  /** Presence topics this socket is subscribed to. */
  watches: number;
}

export interface WatchedStatus {
  user: string;
  status: PresenceStatus;
}

/**
 * Applies one frame; returns where the newly watched users stand now (for the frame that answers a watch).
 * Throws `too_many_watches` before subscribing to anything when the frame would pass `max`.
 */
export function applyWatch(
  socket: ChatSocket<WatchState>,
  kind: 'watch' | 'unwatch',
  users: readonly string[],
  max: number,
  statusOf: (user: string) => PresenceStatus,
): WatchedStatus[] {
  const data = socket.getUserData();
  if (kind === 'unwatch') {
    for (const user of new Set(users)) {
      const topic = presenceTopic(user);
      if (!socket.isSubscribed(topic)) continue;
      socket.unsubscribe(topic);
      data.watches -= 1;
    }
    return [];
  }
  const fresh = new Set(users.filter((user) => !socket.isSubscribed(presenceTopic(user))));
  if (data.watches + fresh.size > max) {
    throw new ChatError('too_many_watches', `a socket may watch at most ${max} users; it watches ${data.watches}`);
  }
  for (const user of fresh) socket.subscribe(presenceTopic(user));
  data.watches += fresh.size;
  return users.map((user) => ({ user, status: statusOf(user) }));
}
