/**
 * @module runtime/local-sockets
 * Several nodes: this node's own sockets per user, and where each user's attachment here stands. A user's
 * first socket on the node proposes `UserAttached` and its sockets wait for that entry to come back from
 * the log before they are greeted (so users list themselves in their welcome); the last close proposes
 * `UserDetached`. Proposals of one node reach the log in the order they were made, so an attach and a
 * detach of one user can never swap.
 */

export interface LocalSocket {
  socket: number;
  sid: string;
  /** The resume point the client gave: greeted once the node's state has reached it (bounded wait). */
  after: number | undefined;
  /** Undefined once greeted. */
  greet: (() => void) | undefined;
}

interface UserHere {
  sockets: Map<number, LocalSocket>;
  /** The request number of the attachment in flight, if any; its sockets wait for it. */
  attaching: number | undefined;
}

export class LocalSockets {
  private readonly users = new Map<string, UserHere>();

  /** Adds a socket; returns true when it is the user's first on this node (an attachment must be proposed). */
  add(user: string, socket: LocalSocket): boolean {
    let here = this.users.get(user);
    const first = here === undefined;
    if (!here) this.users.set(user, (here = { sockets: new Map(), attaching: undefined }));
    here.sockets.set(socket.socket, socket);
    return first;
  }

  /** Removes a socket; returns true when it was the user's last on this node (a detach must be proposed). */
  remove(user: string, socket: number): boolean {
    const here = this.users.get(user);
    if (!here?.sockets.delete(socket)) return false;
    if (here.sockets.size > 0) return false;
    this.users.delete(user);
    return true;
  }

  attaching(user: string, req: number | undefined): void {
    const here = this.users.get(user);
    if (here) here.attaching = req;
  }

  /** Whether the user's attachment here is still awaited (its sockets are not greeted yet). */
  isAttaching(user: string): boolean {
    return this.users.get(user)?.attaching !== undefined;
  }

  /** The attachment `req` came back committed: the sockets that waited for it. */
  attached(user: string, req: number): LocalSocket[] {
    const here = this.users.get(user);
    if (!here || here.attaching !== req) return [];
    here.attaching = undefined;
    return [...here.sockets.values()].filter((socket) => socket.greet !== undefined);
  }

  /** The sockets still waiting for their welcome (refused with the attachment that carried them). */
  waiting(user: string): LocalSocket[] {
    return [...(this.users.get(user)?.sockets.values() ?? [])].filter((socket) => socket.greet !== undefined);
  }

  /** Forgets sockets the node refused (the gateway closes them without reporting a close). */
  drop(user: string, sockets: readonly LocalSocket[]): void {
    const here = this.users.get(user);
    if (!here) return;
    for (const socket of sockets) here.sockets.delete(socket.socket);
    if (here.sockets.size === 0) this.users.delete(user);
  }

  has(user: string): boolean {
    return this.users.has(user);
  }

  /** A session id of one of the user's sockets here (for an attachment proposed again). */
  sidOf(user: string): string | undefined {
    const first = this.users.get(user)?.sockets.values().next();
    return first && !first.done ? first.value.sid : undefined;
  }

  userNames(): string[] {
    return [...this.users.keys()];
  }
}
