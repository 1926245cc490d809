/**
 * Chat clients through HAProxy in front of a cluster (test/support/cluster.ts, test/support/haproxy.ts
 * running deploy/haproxy.cfg): `useChatThroughHaproxy()` starts three nodes and HAProxy per test and
 * closes them and every client after it; clients log in and connect through HAProxy, and each knows
 * the node HAProxy sent its socket to. Waits on frames are bounded and say what they awaited.
 */
import { afterEach, expect } from 'vitest';
import { useClusters, type Cluster } from './cluster.ts';
import { Haproxy } from './haproxy.ts';
import { TestClient, bearer, type Frame } from './ws-client.ts';

export interface Online {
  user: string;
  token: string;
  client: TestClient;
  /** The HAProxy server (`node1`…) the socket was sent to. */
  server: string;
}

export interface ChatThroughHaproxy {
  /** Three nodes (TTL 1 s, grace 15 s, CHAT_TRUST_PROXY naming HAProxy) and HAProxy in front of them. */
  start(): Promise<{ cluster: Cluster; lb: Haproxy }>;
  /** `GET /login/<user>` through HAProxy (expecting 200): the session token. */
  login(user: string): Promise<string>;
  /** Opens a socket through HAProxy (resuming after `after` if given) and waits for its welcome. */
  connect(user: string, token: string, after?: number): Promise<Online>;
}

export function useChatThroughHaproxy(): ChatThroughHaproxy {
  const startCluster = useClusters();
  let lb: Haproxy | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await lb?.close();
    lb = undefined;
  });
  return {
    async start() {
      const cluster = await startCluster({ nodes: 3, ttlMs: 1000, graceMs: 15_000, env: { CHAT_TRUST_PROXY: '127.0.0.1' } });
      lb = await Haproxy.start(cluster.nodes.map((node) => `127.0.0.1:${node.port}`));
      return { cluster, lb };
    },
    async login(user) {
      const response = await fetch(`${lb!.url}/login/${user}`);
      expect(response.status).toBe(200);
      return ((await response.json()) as { token: string }).token;
    },
    async connect(user, token, after) {
      const client = await TestClient.connect(after === undefined ? lb!.wsUrl : `${lb!.wsUrl}?after=${after}`, bearer(token));
      clients.push(client);
      await client.nextOfType('welcome');
      return { user, token, client, server: await lb!.serverOfSocket(client.localPort!) };
    },
  };
}

const WAIT_MS = 20_000;

/** Resolves once `check()` holds, checked now and on every frame `client` receives; fails after WAIT_MS saying `what`. */
export async function until(client: TestClient, check: () => boolean, what: string): Promise<void> {
  if (check()) return;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${WAIT_MS} ms for ${what}; ${client.frames.length} frames received`)), WAIT_MS);
  });
  try {
    await Promise.race([client.next(() => check()), bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** Each user's last status as this socket saw it: its welcome's list, then its presence frames. */
export function statuses(client: TestClient): Map<string, string> {
  const seen = new Map<string, string>();
  for (const frame of client.frames) {
    if (frame.type === 'welcome') for (const entry of frame.users as Array<{ name: string; status: string }>) seen.set(entry.name, entry.status);
    if (frame.type === 'presence') for (const change of frame.changes as Array<{ user: string; status: string }>) seen.set(change.user, change.status);
  }
  return seen;
}

export function presenceOf(client: TestClient, user: string): string[] {
  return client.ofType('presence').flatMap((frame) => (frame.changes as Array<{ user: string; status: string }>).filter((change) => change.user === user).map((change) => change.status));
}

export const receivedIds = (client: TestClient): number[] => client.ofType('receive').map((frame: Frame) => frame.id as number);

/** `sender` posts `count` group messages; resolves when every reader has received the last of them. */
export async function post(sender: Online, readers: Online[], count: number, label: string): Promise<number> {
  const cids = Array.from({ length: count }, (_, index) => `${label}-${index}`);
  for (const cid of cids) sender.client.send({ type: 'message', text: `${sender.user} ${cid}`, cid });
  const last = await sender.client.next((frame) => frame.type === 'receive' && frame.cid === cids[count - 1]);
  await Promise.all(readers.map((reader) => until(reader.client, () => receivedIds(reader.client).includes(last.id as number), `${reader.user} to receive message ${last.id} (${label})`)));
  return last.id as number;
}
