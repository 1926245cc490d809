/**
 * @module transport/socketio
 * Socket.IO v4 clients at `/socket.io/` on the same uWS app as `/ws`, through the `socket.io`
 * package's own uWebSockets.js support (`attachApp`): same sessions, admission, limits, frames,
 * ids and order. Each connection is a socket of its user for the supervisor (SOCKET_OPEN/CLOSE),
 * so grace and presence behave as for `/ws`. Mapping: docs/protocol.md "Socket.IO clients".
 */
import { Server, type Socket } from 'socket.io';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { ChatError } from '../domain/errors.ts';
import { readClientFrame, type FrameLimits } from '../protocol/client-frames.ts';
import type { Metrics } from '../metrics.ts';
import { parseAfter } from './admission.ts';
import type { AckOutcome, Acknowledge, SocketData } from './client-socket.ts';
import type { Gateway } from './gateway.ts';
import { SocketIoFanout, SocketIoSocket } from './socketio-socket.ts';
import type { RawApp } from './types.ts';

/** Client → server events; each is the `/ws` frame of the same type (a `message` may be a plain string). */
const EVENTS = new Set(['message', 'direct', 'list-users', 'watch', 'unwatch', 'history']);
/** Disconnect reasons that mean the client vanished (counted like a `/ws` 1006). */
const ABNORMAL = new Set(['ping timeout', 'transport error']);

export interface SocketIoServer {
  /** Mounts Engine.IO's routes on the uWS app (before the HTTP routes). */
  attach(app: RawApp): void;
  close(): void;
}

export function createSocketIoServer(config: Readonly<Config>, gateway: Gateway, logger: Logger, metrics: Metrics): SocketIoServer {
  const limits: FrameLimits = { maxTextLength: config.limits.maxTextLength, pageSize: config.pageSize };
  const io = new Server({
    serveClient: false,
    maxHttpBufferSize: config.limits.maxPayloadBytes,
    cleanupEmptyChildNamespaces: true,
    // With several nodes, an Engine.IO session lives on the node that opened it, and long-polling sends
    // each poll as its own request: this cookie (`io`, the session id, on the session's first answer)
    // lets the load balancer send the session's later requests back here (deploy/haproxy.cfg).
    ...(config.engine.kind === 'redis' ? { cookie: { name: 'io', path: '/socket.io/', httpOnly: true, sameSite: 'lax' as const } } : {}),
  });
  let fanout: SocketIoFanout | undefined;

  io.use((socket, next) => {
    const refuse = (error: unknown): void => {
      if (!(error instanceof ChatError)) {
        logger.error({ err: error }, 'socket.io handshake failed');
        error = new ChatError('internal_error', 'the node failed to admit this connection');
      }
      const { code, message } = error as ChatError;
      metrics.error(code);
      next(Object.assign(new Error(code), { data: { code, message } }));
    };
    const admitted = (data: SocketData): void => {
      socket.data.chat = data;
      next();
    };
    try {
      const auth = socket.handshake.auth as Record<string, unknown>;
      const all = stringHeaders(socket);
      gateway.admission.limitAddress({ headers: all, remoteAddress: socket.handshake.address });
      const headers = credentialHeaders(all);
      if (typeof auth.token === 'string' && auth.token !== '') headers.authorization = `Bearer ${auth.token}`;
      // `auth.after`, or `?after=` on the handshake URL as on /ws.
      const data = gateway.admission.admit(headers, parseAfter(auth.after ?? socket.handshake.query.after));
      if (data instanceof Promise) data.then(admitted, refuse);
      else admitted(data);
    } catch (error) {
      refuse(error);
    }
  });

  io.on('connection', (socket) => {
    const client = new SocketIoSocket(socket, socket.data.chat as SocketData, fanout!);
    socket.conn.on('upgrade', () => fanout!.forget(client));
    socket.onAny((event: string, ...args: unknown[]) => {
      if (EVENTS.has(event)) return;
      const ack = args.at(-1);
      gateway.refuse(client, new ChatError('unknown_type', `unknown event ${JSON.stringify(event).slice(0, 80)}`), acknowledgement(ack));
    });
    for (const type of EVENTS) {
      socket.on(type, (...args: unknown[]) => {
        const acknowledge = acknowledgement(args.at(-1));
        if (acknowledge) args.pop();
        try {
          const payload = args[0];
          const body = type === 'message' && typeof payload === 'string' ? { text: payload } : payload;
          if (typeof body !== 'object' || body === null || Array.isArray(body)) {
            throw new ChatError('invalid_frame', `the "${type}" event takes one object`);
          }
          gateway.frame(client, readClientFrame({ ...body, type }, limits), acknowledge);
        } catch (error) {
          gateway.refuse(client, error, acknowledge);
        }
      });
    }
    socket.on('disconnect', (reason) => {
      fanout!.forget(client);
      gateway.close(client, ABNORMAL.has(reason) ? 1006 : 1000);
    });
    gateway.open(client);
  });

  return {
    attach(app) {
      fanout = new SocketIoFanout(app);
      gateway.addFanout(fanout);
      // Same hard send-buffer cap as /ws; the gateway's close policy closes slow readers well before it.
      io.attachApp(app, {
        maxBackpressure: Math.max(16 * config.limits.maxBackpressureBytes, 8 * 1024 * 1024),
        idleTimeout: config.limits.idleTimeoutSeconds,
        compression: 0,
      } as object);
    },
    close() {
      void io.close();
    },
  };
}

function acknowledgement(candidate: unknown): Acknowledge | undefined {
  if (typeof candidate !== 'function') return undefined;
  return (outcome: AckOutcome) => (candidate as (outcome: AckOutcome) => void)(outcome);
}

/**
 * The headers the admission reads (lower-case names): the session cookie, the origin, and `Authorization: Bearer`
 * (what a non-browser client may send instead of `auth.token`, as on /ws).
 */
function credentialHeaders(all: Record<string, string>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['cookie', 'origin', 'authorization']) if (all[name] !== undefined) headers[name] = all[name];
  return headers;
}

/** Every handshake header with a single value (what the per-client-IP limit reads: `x-forwarded-for`). */
function stringHeaders(socket: Socket): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(socket.handshake.headers)) if (typeof value === 'string') headers[name] = value;
  return headers;
}
