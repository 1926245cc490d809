/**
 * Socket.IO 4.8 attached to a bare uWebSockets.js app (`io.attachApp`, the package's own uWS support):
 * the ceiling for a Socket.IO surface on uWS, as bare-uws.ts is for `/ws`. Same work as socketio.ts
 * (parse, stamp an id, `io.emit` once, which socket.io's uWS adapter turns into one `app.publish`)
 * and the same outer shape: GET /login/:name returns a token, the token is checked before the socket
 * exists (`allowRequest`), a `welcome` event opens the stream, `after=` in the handshake query replays
 * from a bounded ring.
 * Started by bench/run.ts as its own process: `BENCH_PORT=<port> node --import tsx bench/servers/socketio-uws.ts`.
 */
import uWS from 'uWebSockets.js';
import { Server } from 'socket.io';
import { login, serveChat, serverOptions } from './socketio-chat.ts';

// The unofficial build silently falls back to a slow ws-based shim when the native addon fails to load.
if (typeof (uWS as unknown as { getParts?: unknown }).getParts !== 'function') {
  console.error('socketio-uws: the native uWebSockets.js addon did not load; refusing to benchmark the fallback');
  process.exit(2);
}

const HOST = process.env.BENCH_HOST ?? '127.0.0.1';
const PORT = Number(process.env.BENCH_PORT ?? '0');

function json(res: uWS.HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('Content-Type', 'application/json').end(JSON.stringify(body));
  });
}

const app = uWS.App();
app.get('/healthz', (res) => json(res, '200 OK', { status: 'ok' }));
app.get('/login/:name', (res, req) => {
  json(res, '200 OK', login(req.getParameter(0) ?? ''));
});

const io = new Server(serverOptions);
io.attachApp(app);
serveChat(io);

app.listen(HOST, PORT, (listening) => {
  if (!listening) {
    console.error(`socketio-uws: could not listen on ${HOST}:${PORT}`);
    process.exit(1);
  }
  console.log(`socketio-uws listening on ${HOST}:${PORT}`);
});
