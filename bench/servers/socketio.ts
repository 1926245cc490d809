/**
 * What users pick today: Socket.IO 4.8 on Node's http server doing the same broadcast as the bare
 * uWS server (parse, stamp id, `io.emit` once). Same outer shape as actor-chat: GET /login/:name
 * returns a token, the token is checked before the socket exists (`allowRequest`), a `welcome` event
 * opens the stream, and `after=` in the handshake query replays from a bounded ring.
 * Started by bench/run.ts as its own process: `BENCH_PORT=<port> node --import tsx bench/servers/socketio.ts`.
 */
import http from 'node:http';
import { Server } from 'socket.io';
import { login, serveChat, serverOptions } from './socketio-chat.ts';

const HOST = process.env.BENCH_HOST ?? '127.0.0.1';
const PORT = Number(process.env.BENCH_PORT ?? '0');

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/healthz') return sendJson(res, 200, { status: 'ok' });
  const route = /^\/login\/([^/?]+)/.exec(url);
  if (route?.[1] === undefined) return sendJson(res, 404, { error: { code: 'not_found', message: url } });
  return sendJson(res, 200, login(decodeURIComponent(route[1])));
});

const io = new Server(server, serverOptions);
serveChat(io);

server.listen(PORT, HOST, () => console.log(`socketio listening on ${HOST}:${PORT}`));
