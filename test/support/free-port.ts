/**
 * A free loopback TCP port, found by binding port 0 and releasing it. Another process may take it
 * before the caller binds it: callers that cannot listen on port 0 themselves (redis-server, whose
 * `--port 0` turns TCP off; nodes behind HAProxy, whose addresses go into its configuration) retry
 * on "address in use".
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
