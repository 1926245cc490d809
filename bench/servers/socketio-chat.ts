/**
 * The chat both Socket.IO baselines serve (socketio.ts on Node's http, socketio-uws.ts on bare uWS), written
 * once so the two differ only in their HTTP server: tokens from GET /login/:name, checked before the socket
 * exists (`allowRequest`), a `welcome` event, `after=` replay from a bounded ring, and one `io.emit` per message.
 */
import { randomBytes } from 'node:crypto';
import type { Server, ServerOptions } from 'socket.io';

const RING_SIZE = 10_000;
const sessions = new Map<string, string>();
const ring: { id: number; payload: Receive }[] = [];
let seq = 0;

interface Receive {
  type: 'receive';
  id: number;
  from: string;
  text: unknown;
  ts: number;
  cid: unknown;
}

function userOf(authorization: string | undefined): string | undefined {
  if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined;
  return sessions.get(authorization.slice(7));
}

/** What GET /login/:name answers. */
export function login(user: string): { user: string; token: string; expiresAt: number } {
  const token = randomBytes(16).toString('base64url');
  sessions.set(token, user);
  return { user, token, expiresAt: Date.now() + 3_600_000 };
}

export const serverOptions: Partial<ServerOptions> = {
  serveClient: false,
  transports: ['websocket'],
  maxHttpBufferSize: 16 * 1024,
  allowRequest: (req, callback) => callback(null, userOf(req.headers.authorization) !== undefined),
};

/** Parse, stamp an id, `io.emit` once. */
export function serveChat(io: Server): void {
  io.on('connection', (socket) => {
    const user = userOf(socket.handshake.headers.authorization) ?? 'unknown';
    const after = Number(socket.handshake.query.after ?? 'NaN');
    socket.emit('welcome', { type: 'welcome', user, seq, online: 0, users: [], truncated: false });
    if (Number.isFinite(after)) for (const entry of ring) if (entry.id > after) socket.emit('receive', entry.payload);
    socket.on('message', (frame: { text?: unknown; cid?: unknown }) => {
      const id = ++seq;
      const payload: Receive = { type: 'receive', id, from: user, text: frame.text, ts: Date.now(), cid: frame.cid };
      ring.push({ id, payload });
      if (ring.length > RING_SIZE) ring.splice(0, ring.length - RING_SIZE);
      io.emit('receive', payload);
    });
  });
}
