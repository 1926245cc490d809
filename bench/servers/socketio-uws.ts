/**
 * Socket.IO 4.8 attached to a bare uWebSockets.js app (`io.attachApp`, the package's own uWS support):
 * the ceiling for a Socket.IO surface on uWS, as bare-uws.ts is for `/ws`. Same work as socketio.ts
 * (parse, stamp an id, `io.emit` once, which socket.io's uWS adapter turns into one `app.publish`)
 * and the same outer shape: GET /login/:name returns a token, the token is checked before the socket
 * exists (`allowRequest`), a `welcome` event opens the stream, `after=` in the handshake query replays
 * from a bounded ring.
 * Started by bench/run.ts as its own process: `BENCH_PORT=<port> node --import tsx bench/servers/socketio-uws.ts`.
 */
import { randomBytes } from 'node:crypto';
import uWS from 'uWebSockets.js';
import { Server } from 'socket.io';

// The unofficial build silently falls back to a slow ws-based shim when the native addon fails to load.
if (typeof (uWS as unknown as { getParts?: unknown }).getParts !== 'function') {
  console.error('socketio-uws: the native uWebSockets.js addon did not load; refusing to benchmark the fallback');
  process.exit(2);
}

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

function json(res: uWS.HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('Content-Type', 'application/json').end(JSON.stringify(body));
  });
}

const app = uWS.App();
app.get('/healthz', (res) => json(res, '200 OK', { status: 'ok' }));
app.get('/login/:name', (res, req) => {
  const user = req.getParameter(0) ?? '';
  const token = randomBytes(16).toString('base64url');
  sessions.set(token, user);
  json(res, '200 OK', { user, token, expiresAt: Date.now() + 3_600_000 });
});

const io = new Server({
  serveClient: false,
  transports: ['websocket'],
  maxHttpBufferSize: 16 * 1024,
  allowRequest: (req, callback) => callback(null, userOf(req.headers.authorization) !== undefined),
});
io.attachApp(app);

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

app.listen(HOST, PORT, (listening) => {
  if (!listening) {
    console.error(`socketio-uws: could not listen on ${HOST}:${PORT}`);
    process.exit(1);
  }
  console.log(`socketio-uws listening on ${HOST}:${PORT}`);
});
