/**
 * A loopback TCP relay for browser tests: the page keeps one origin (the relay's port) while the
 * node behind it is stopped and a new one started, the way a real deployment restarts behind a
 * load balancer. Cut connections with `dropAll()`, silence them with `freezeAll()`, point at another
 * node with `target`.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  url: string;
  /** Port of the node to relay to; undefined refuses new connections. */
  target: number | undefined;
  dropAll(): void;
  /** Stops relaying bytes on every open connection without closing it: a laptop gone to sleep. */
  freezeAll(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const track = (s: Socket): void => {
    open.add(s);
    s.on('close', () => open.delete(s));
  };
  const proxy: TcpProxy = {
    port: 0,
    url: '',
    target: undefined,
    dropAll: () => {
      for (const s of open) s.destroy();
    },
    freezeAll: () => {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      pairs.clear();
    },
    close: () => new Promise((resolve) => {
      proxy.dropAll();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((client) => {
    track(client);
    if (proxy.target === undefined) {
      client.destroy();
      return;
    }
    const upstream = connect(proxy.target, '127.0.0.1');
    track(upstream);
    // Either side failing ends both: the browser sees the connection drop, as with a dead node.
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('close', () => pairs.delete(pair));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('relay has no TCP port');
  proxy.port = address.port;
  proxy.url = `http://127.0.0.1:${address.port}`;
  return proxy;
}
