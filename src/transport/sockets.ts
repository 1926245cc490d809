/**
 * @module transport/sockets
 * The open sockets of this node, by id and by user, and the few still replaying missed
 * messages. Every kind of client socket is listed here: limits and delivery count them alike.
 */
import type { ClientSocket } from './client-socket.ts';

export class SocketRegistry {
  private readonly byId = new Map<number, ClientSocket>();
  private readonly byUser = new Map<string, ClientSocket[]>();
  /** Sockets replaying missed messages (not yet on the live topic). */
  readonly replaying = new Set<ClientSocket>();

  get size(): number {
    return this.byId.size;
  }

  get(id: number): ClientSocket | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<ClientSocket> {
    return this.byId.values();
  }

  /** The users with open sockets. */
  users(): IterableIterator<string> {
    return this.byUser.keys();
  }

  /** The user's open sockets (do not mutate; copy before closing them). */
  ofUser(user: string): readonly ClientSocket[] {
    return this.byUser.get(user) ?? [];
  }

  add(socket: ClientSocket): void {
    const data = socket.getUserData();
    this.byId.set(data.id, socket);
    const mine = this.byUser.get(data.user);
    if (mine) mine.push(socket);
    else this.byUser.set(data.user, [socket]);
  }

  remove(socket: ClientSocket): void {
    const data = socket.getUserData();
    this.byId.delete(data.id);
    this.replaying.delete(socket);
    const mine = this.byUser.get(data.user);
    if (!mine) return;
    const rest = mine.filter((other) => other !== socket);
    if (rest.length > 0) this.byUser.set(data.user, rest);
    else this.byUser.delete(data.user);
  }
}
