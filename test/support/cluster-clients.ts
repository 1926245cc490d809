/**
 * Clients of a test cluster (test/support/cluster.ts): log in on one node, connect to any, read the
 * presence changes and message ids a client saw, and a follower that reconnects to another node when
 * its node dies and resumes from the last id it saw, as a real client does.
 */
import { expect } from 'vitest';
import type { ClusterNode } from './cluster.ts';
import { TestClient, bearer, type Frame } from './ws-client.ts';

export async function login(node: ClusterNode, user: string): Promise<string> {
  const response = await fetch(`${node.url}/login/${user}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

export async function connect(node: ClusterNode, token: string, after?: number): Promise<TestClient> {
  const client = await TestClient.connect(after === undefined ? node.wsUrl : `${node.wsUrl}?after=${after}`, bearer(token));
  await client.nextOfType('welcome');
  return client;
}

export async function listUsers(node: ClusterNode, token: string): Promise<unknown> {
  const response = await fetch(`${node.url}/list-users`, { headers: bearer(token) });
  return { status: response.status, body: await response.json() };
}

/** The ids of the group and direct messages a client received, in arrival order. */
export function messageIds(client: TestClient): number[] {
  return client.frames.filter((frame) => frame.type === 'receive' || frame.type === 'direct').map((frame) => frame.id as number);
}

/** Waits until the client has seen `user` with `status` in a presence frame (or its welcome). */
export function presenceOf(client: TestClient, user: string, status: string): Promise<Frame> {
  const has = (frame: Frame): boolean =>
    (frame.type === 'presence' && (frame.changes as Array<{ user: string; status: string }>).some((c) => c.user === user && c.status === status)) ||
    (frame.type === 'welcome' && (frame.users as Array<{ name: string; status: string }>).some((u) => u.name === user && u.status === status));
  const seen = client.frames.find(has);
  return seen ? Promise.resolve(seen) : client.next(has);
}

/** Waits until the client has seen each of `users` with `status` in a presence frame (one waiter for all). */
export function everyoneShown(client: TestClient, users: readonly string[], status: string): Promise<unknown> {
  const all = (): boolean => users.every((user) => sawStatus(client, user, status));
  return all() ? Promise.resolve() : client.next(all);
}

/** Waits until the client, after it saw `user` shown `before` (e.g. grace), saw them shown `status` (e.g. online again). */
export function presenceAfter(client: TestClient, user: string, status: string, before: string): Promise<unknown> {
  const beforeAt = client.frames.findIndex((frame) => frame.type === 'presence' && sawIn(frame, user, before));
  const again = (frame: Frame): boolean => frame.type === 'presence' && sawIn(frame, user, status) && client.frames.indexOf(frame) > beforeAt;
  return client.frames.some(again) ? Promise.resolve() : client.next(again);
}

/** Whether this presence frame shows `user` with `status`. */
export function sawIn(frame: Frame, user: string, status: string): boolean {
  return (frame.changes as Array<{ user: string; status: string }>).some((c) => c.user === user && c.status === status);
}

/** Whether a presence frame the client received showed `user` with `status`. */
export function sawStatus(client: TestClient, user: string, status: string): boolean {
  return client.ofType('presence').some((frame) => sawIn(frame, user, status));
}

/**
 * A client that survives its node: when the socket drops it reconnects to the next running node that takes it
 * (`nodes()` in order, retried with a short backoff, bounded) and resumes with `?after=` the last id it saw.
 * `ids` are every message id it received, across its sockets, in arrival order.
 */
export class Follower {
  readonly sockets: TestClient[] = [];
  private stopped = false;
  /** Settles when a reconnect attempt ends (for tests awaiting it). */
  reconnecting: Promise<void> = Promise.resolve();

  private constructor(
    readonly token: string,
    private readonly nodes: () => ClusterNode[],
    private readonly beforeReconnect: () => Promise<unknown>,
  ) {}

  /** `beforeReconnect`: what the client awaits before it reconnects (its backoff; by default nothing). */
  static async start(node: ClusterNode, token: string, nodes: () => ClusterNode[], beforeReconnect: () => Promise<unknown> = async () => {}): Promise<Follower> {
    const follower = new Follower(token, nodes, beforeReconnect);
    follower.watch(await connect(node, token));
    return follower;
  }

  get client(): TestClient {
    return this.sockets[this.sockets.length - 1]!;
  }

  get ids(): number[] {
    return this.sockets.flatMap((socket) => messageIds(socket));
  }

  get lastId(): number | undefined {
    const ids = this.ids;
    return ids.length === 0 ? undefined : ids[ids.length - 1];
  }

  /** Sends on the current socket if it is open (frames sent while reconnecting are simply not sent). */
  send(frame: unknown): void {
    if (!this.client.closed) this.client.send(frame);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.reconnecting;
    await this.client.close();
  }

  private watch(socket: TestClient): void {
    this.sockets.push(socket);
    void socket.waitClosed().then(() => {
      if (!this.stopped) this.reconnecting = this.reconnect();
    });
  }

  private async reconnect(): Promise<void> {
    await this.beforeReconnect();
    let last: unknown;
    for (let attempt = 0; attempt < 100 && !this.stopped; attempt++) {
      for (const node of this.nodes()) {
        try {
          this.watch(await connect(node, this.token, this.lastId));
          return;
        } catch (error) {
          last = error; // that node is down or not ready: the next one
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!this.stopped) throw new Error(`a follower found no node to reconnect to (last: ${String(last)})`);
  }
}
