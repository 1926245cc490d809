/**
 * @module runtime/greetings
 * Several nodes: sockets waiting for their welcome. A socket is greeted once its user's attachment here
 * came back from the log and, when it resumes (`?after=`), once this node's tail has reached the id it
 * resumes from — a client may have seen that id on a node further along the log — or after at most
 * RESUME_WAIT_MS (then the replay says what is missing).
 */
import type { LocalSocket } from './local-sockets.ts';

/** How long a socket resuming past this node's newest message waits for the tail to reach it. */
const RESUME_WAIT_MS = 1000;

export class Greetings {
  private readonly waiting = new Map<LocalSocket, ReturnType<typeof setTimeout>>();

  /** `seq`: the newest message id this node has applied. */
  constructor(private readonly seq: () => number) {}

  whenCaughtUp(socket: LocalSocket): void {
    if (this.reached(socket)) return this.greet(socket);
    const timer = setTimeout(() => this.greet(socket), RESUME_WAIT_MS);
    timer.unref();
    this.waiting.set(socket, timer);
  }

  /** The tail moved on: greets the sockets it now caught up with. */
  caughtUp(): void {
    if (this.waiting.size === 0) return;
    for (const socket of [...this.waiting.keys()]) if (this.reached(socket)) this.greet(socket);
  }

  clear(): void {
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }

  private reached(socket: LocalSocket): boolean {
    return socket.after === undefined || this.seq() >= socket.after;
  }

  private greet(socket: LocalSocket): void {
    const timer = this.waiting.get(socket);
    if (timer !== undefined) clearTimeout(timer);
    this.waiting.delete(socket);
    const greet = socket.greet;
    socket.greet = undefined;
    greet?.();
  }
}
