/**
 * A Socket.IO test client on `socket.io-client` 4.8: records every server event in order,
 * awaits the next event matching a predicate, and offers `sync()` — an acknowledged round trip
 * that proves every event the server sent before it has arrived (one connection is ordered).
 */
import { io, type Socket, type ManagerOptions, type SocketOptions } from 'socket.io-client';

export interface SioEvent {
  event: string;
  data: Record<string, unknown>;
}

interface Waiter {
  match: (event: SioEvent) => boolean;
  resolve: (event: SioEvent) => void;
  reject: (error: Error) => void;
}

export class SioClient {
  readonly events: SioEvent[] = [];
  private waiters: Waiter[] = [];
  disconnected: string | undefined;

  private constructor(readonly socket: Socket) {
    socket.onAny((event: string, data: Record<string, unknown>) => this.receive({ event, data }));
    socket.on('disconnect', (reason) => {
      this.disconnected = reason;
      for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`disconnected (${reason}) while waiting`));
    });
  }

  /** Connects and waits for the welcome; rejects with the `connect_error` (its message is the refusal's code). */
  static connect(url: string, options: Partial<ManagerOptions & SocketOptions>): Promise<SioClient> {
    const socket = io(url, { reconnection: false, forceNew: true, ...options });
    const client = new SioClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('connect_error', (error) => {
        socket.close();
        reject(error);
      });
      void client.next('welcome').then(() => resolve(client), reject);
    });
  }

  private receive(event: SioEvent): void {
    this.events.push(event);
    const waiter = this.waiters.find((candidate) => candidate.match(event));
    if (waiter) {
      this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
      waiter.resolve(event);
    }
  }

  /** The next event named `name` (matching `match`), including one already received and not yet awaited. */
  next(name: string, match: (data: Record<string, unknown>) => boolean = () => true): Promise<SioEvent> {
    const test = (event: SioEvent): boolean => event.event === name && match(event.data);
    const seen = this.events.find((event) => test(event) && !this.taken.has(event));
    if (seen) {
      this.taken.add(seen);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({
        match: test,
        resolve: (event) => {
          this.taken.add(event);
          resolve(event);
        },
        reject,
      });
    });
  }

  private readonly taken = new Set<SioEvent>();

  of(name: string): Array<Record<string, unknown>> {
    return this.events.filter((event) => event.event === name).map((event) => event.data);
  }

  emitWithAck(event: string, ...args: unknown[]): Promise<Record<string, unknown>> {
    return this.socket.emitWithAck(event, ...args) as Promise<Record<string, unknown>>;
  }

  async sync(): Promise<void> {
    await this.emitWithAck('list-users', { limit: 1 });
  }

  get transport(): string {
    return this.socket.io.engine.transport.name;
  }

  close(): void {
    this.socket.close();
  }

  waitDisconnect(): Promise<string> {
    if (this.disconnected !== undefined) return Promise.resolve(this.disconnected);
    return new Promise((resolve) => this.socket.once('disconnect', (reason) => resolve(reason)));
  }
}
