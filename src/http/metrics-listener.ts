/**
 * @module http/metrics-listener
 * Where Prometheus reads the node's metrics: a separate plain-HTTP listener, on loopback by default
 * (`CHAT_METRICS_HOST`, `CHAT_METRICS_PORT`, default 127.0.0.1:9464), serving only `GET /metrics`.
 * On the public listener `/metrics` answers only with `Authorization: Bearer <CHAT_METRICS_TOKEN>`
 * (and not at all when no token is set). node:http is enough here: one scrape every few seconds.
 */
import { createServer, type Server } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../metrics.ts';

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

export function listenForMetrics(metrics: Metrics, host: string, port: number): Promise<MetricsListener> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
      () => response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`metrics listener: cannot listen on ${host}:${port} (CHAT_METRICS_HOST/CHAT_METRICS_PORT): ${error.message}`)));
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${address.port}/metrics`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

/** Whether `authorization` carries the metrics bearer token (compared in constant time). */
export function hasMetricsToken(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) return false;
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(match[1]!), digest(token));
}
