/**
 * @module transport/uws
 * The one file that imports uWebSockets.js: builds the App (or SSLApp), adapts HTTP routes
 * and the WebSocket endpoint to our own types, and refuses to run on the package's slow
 * JavaScript fallback.
 */
import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';
import { errorBody } from '../domain/errors.ts';
import type { HttpReply, HttpRequestInfo, Route, RunningServer, ServerOptions, UpgradeResult } from './types.ts';

const require = createRequire(import.meta.url);

/** Loads the native binding; the package silently falls back to a ws-based App that is far slower. */
function loadNative(): typeof Uws {
  const uws = require('uWebSockets.js') as typeof Uws;
  // The fallback module exports only App, _cfg and us_listen_socket_close.
  if (typeof uws.SSLApp !== 'function' || typeof uws.us_socket_local_port !== 'function') {
    throw new Error(
      `uWebSockets.js native binary did not load for node ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules}); refusing to run on the slow fallback`,
    );
  }
  return uws;
}

const uws = loadNative();
const decoder = new TextDecoder();

function readRequest(req: Uws.HttpRequest, res: Uws.HttpResponse, paramCount: number): HttpRequestInfo {
  const headers: Record<string, string> = {};
  req.forEach((key, value) => {
    headers[key] = value;
  });
  const params: string[] = [];
  for (let i = 0; i < paramCount; i++) params.push(safeDecode(req.getParameter(i) ?? ''));
  return {
    method: req.getMethod(),
    path: req.getUrl(),
    query: new URLSearchParams(req.getQuery() ?? ''),
    headers,
    params,
    remoteAddress: decoder.decode(res.getRemoteAddressAsText()),
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // A malformed escape is kept raw; the route's own validation refuses it with its code.
    return segment;
  }
}

function statusLine(status: number): string {
  const texts: Record<number, string> = {
    200: 'OK', 204: 'No Content', 302: 'Found', 303: 'See Other', 304: 'Not Modified', 400: 'Bad Request',
    401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large',
    429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
  };
  return `${status} ${texts[status] ?? 'Status'}`;
}

function writeReply(res: Uws.HttpResponse, reply: HttpReply): void {
  res.writeStatus(statusLine(reply.status));
  for (const [key, value] of Object.entries(reply.headers ?? {})) {
    for (const item of Array.isArray(value) ? value : [value]) res.writeHeader(key, item);
  }
  res.end(reply.body ?? '');
}

const INTERNAL_ERROR: HttpReply = {
  status: 500,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(errorBody('internal_error', 'the node failed to answer this request')),
};

const TOO_LARGE: HttpReply = {
  status: 413,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(errorBody('invalid_frame', 'the request body is too large')),
};

/** Reads a body with a byte cap enforced while streaming; resolves undefined when over the cap. */
function readBody(res: Uws.HttpResponse, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    res.onData((chunk, isLast) => {
      size += chunk.byteLength;
      if (size > maxBytes) over = true;
      // uWS reuses the chunk's memory after this callback returns: copy it.
      if (!over) chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) resolve(over ? undefined : Buffer.concat(chunks));
    });
  });
}

function countParams(pattern: string): number {
  return pattern.split('/').filter((segment) => segment.startsWith(':')).length;
}

function mountRoute<D>(app: Uws.TemplatedApp, route: Route, options: ServerOptions<D>): void {
  const paramCount = countParams(route.pattern);
  app[route.method](route.pattern, (res, req) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    // Everything is copied out of req now: uWS invalidates it when this callback returns.
    const request = readRequest(req, res, paramCount);
    const answer = async (): Promise<void> => {
      let body: Buffer | undefined;
      if (route.maxBodyBytes !== undefined) {
        body = await readBody(res, route.maxBodyBytes);
        if (body === undefined) return void (!aborted && res.cork(() => writeReply(res, TOO_LARGE)));
      }
      const reply = await route.handler(request, body);
      if (!aborted) res.cork(() => writeReply(res, reply));
    };
    answer().catch((error: unknown) => {
      options.onHandlerError(error, request);
      if (!aborted) res.cork(() => writeReply(res, INTERNAL_ERROR));
    });
  });
}

export function startServer<D>(options: ServerOptions<D>): Promise<RunningServer> {
  const app = options.tls ? uws.SSLApp({ cert_file_name: options.tls.cert, key_file_name: options.tls.key }) : uws.App();
  const { sockets, limits } = options;
  app.ws<D>(options.socketPath, {
    maxPayloadLength: limits.maxPayloadBytes,
    // The node closes sockets over maxBackpressureBytes itself (ClosePolicy.closeSlowConsumers): uWS, at its own
    // limit, skips messages for a socket and closes it later, which can leave a hole in what the client got.
    // Its limit is only the hard cap behind ours.
    maxBackpressure: Math.max(16 * limits.maxBackpressureBytes, 8 * 1024 * 1024),
    closeOnBackpressureLimit: 1, // typed as a number in this build; any non-zero value turns it on
    idleTimeout: limits.idleTimeoutSeconds,
    sendPingsAutomatically: true,
    compression: uws.DISABLED,
    upgrade: (res, req, context) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const request = readRequest(req, res, 0);
      const key = request.headers['sec-websocket-key'] ?? '';
      const protocol = request.headers['sec-websocket-protocol'] ?? '';
      // Compression is off, so no extension is negotiated. Passing the client's permessage-deflate offer through an
      // asynchronous upgrade made this uWS build drop a few connections right after the handshake (1006).
      const extensions = '';
      const finish = (result: UpgradeResult<D>): void => {
        if (result.ok) res.upgrade(result.data, key, protocol, extensions, context);
        else writeReply(res, result.reply);
      };
      const failed = (error: unknown): void => {
        options.onHandlerError(error, request);
        if (!aborted) res.cork(() => writeReply(res, INTERNAL_ERROR));
      };
      let result: UpgradeResult<D> | Promise<UpgradeResult<D>>;
      try {
        result = sockets.upgrade(request);
      } catch (error) {
        return failed(error);
      }
      // Upgrading inside this callback is the path uWS handles best; later, after an await, it must be corked.
      if (!(result instanceof Promise)) return finish(result);
      result.then((settled) => void (!aborted && res.cork(() => finish(settled))), failed);
    },
    // A handler that throws must not take the node down: log it, drop that one socket, go on.
    open: (ws) => guard(() => sockets.open(ws), ws),
    message: (ws, message, isBinary) => guard(() => sockets.message(ws, message, isBinary), ws),
    drain: (ws) => guard(() => sockets.drain(ws), ws),
    close: (ws, code, reason) => guard(() => sockets.close(ws, code, reason)),
  });
  options.attachApp?.(app);
  for (const route of options.routes) mountRoute(app, route, options);

  function guard(handler: () => void, ws?: Uws.WebSocket<D>): void {
    try {
      handler();
    } catch (error) {
      options.onSocketError(error);
      if (ws) {
        try {
          ws.close();
        } catch (closeError) {
          options.onSocketError(closeError); // already closed by the failing handler
        }
      }
    }
  }

  return new Promise((resolve, reject) => {
    app.listen(options.host, options.port, (listenSocket) => {
      if (!listenSocket) {
        reject(new Error(`could not listen on ${options.host}:${options.port} (address in use or not permitted)`));
        return;
      }
      resolve({
        port: uws.us_socket_local_port(listenSocket as unknown as Uws.us_socket),
        publish: (topic, message) => app.publish(topic, message, false, false),
        subscribers: (topic) => app.numSubscribers(topic),
        stopListening: () => uws.us_listen_socket_close(listenSocket),
      });
    });
  });
}
