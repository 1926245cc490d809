/**
 * What users pick today: Socket.IO 4.8 on Node's http server doing the same broadcast as the bare
 * uWS server (parse, stamp id, `io.emit` once). Same outer shape as actor-chat: GET /login/:name
 * returns a token, the token is checked before the socket exists (`allowRequest`), a `welcome` event
 * opens the stream, and `after=` in the handshake query replays from a bounded ring.
 * Started by bench/run.ts as its own process: `BENCH_PORT=<port> node --import tsx bench/servers/socketio.ts`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Server } from 'socket.io';

const HOST = process.env.BENCH_HOST ?? '127.0.0.1';
const PORT = Number(process.env.BENCH_PORT ?? '0');
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

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/healthz') return sendJson(res, 200, { status: 'ok' });
  const login = /^\/login\/([^/?]+)/.exec(url);
  if (login?.[1] === undefined) return sendJson(res, 404, { error: { code: 'not_found', message: url } });
  const user = decodeURIComponent(login[1]);
  const token = randomBytes(16).toString('base64url');
  sessions.set(token, user);
  return sendJson(res, 200, { user, token, expiresAt: Date.now() + 3_600_000 });
});

const io = new Server(server, {
  serveClient: false,
  transports: ['websocket'],
  maxHttpBufferSize: 16 * 1024,
  allowRequest: (req, callback) => callback(null, userOf(req.headers.authorization) !== undefined),
});

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

server.listen(PORT, HOST, () => console.log(`socketio listening on ${HOST}:${PORT}`));
