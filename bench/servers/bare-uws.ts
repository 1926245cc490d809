/**
 * The ceiling: a bare uWebSockets.js pub/sub chat server doing the minimum the benchmark needs.
 * Parse the frame, stamp an id, publish once on a topic (the per-recipient copy loop runs in C++).
 * It has the same outer shape as actor-chat (GET /login/:name → token, Bearer auth at the upgrade,
 * a welcome frame, `after=` resume from a bounded ring) so every scenario runs unchanged against it.
 * Started by bench/run.ts as its own process: `BENCH_PORT=<port> node --import tsx bench/servers/bare-uws.ts`.
 */
import { randomBytes } from 'node:crypto';
import uWS from 'uWebSockets.js';

interface SocketData {
  user: string;
  after: number;
}

// The unofficial build silently falls back to a slow ws-based shim when the native addon fails to load.
if (typeof (uWS as unknown as { getParts?: unknown }).getParts !== 'function') {
  console.error('bare-uws: the native uWebSockets.js addon did not load; refusing to benchmark the fallback');
  process.exit(2);
}

const HOST = process.env.BENCH_HOST ?? '127.0.0.1';
const PORT = Number(process.env.BENCH_PORT ?? '0');
const RING_SIZE = 10_000;
const TOPIC = 'chat';
// Diagnostics: BENCH_EXTRA_TOPICS=1 subscribes each socket to a per-user and a presence topic too,
// as actor-chat does, to measure what extra subscriptions cost uWS's pub/sub.
const EXTRA_TOPICS = process.env.BENCH_EXTRA_TOPICS === '1';
const decoder = new TextDecoder();
const sessions = new Map<string, string>();
const ring: { id: number; frame: string }[] = [];
let seq = 0;

function json(res: uWS.HttpResponse, status: string, body: unknown): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('Content-Type', 'application/json').end(JSON.stringify(body));
  });
}

function remember(id: number, frame: string): void {
  ring.push({ id, frame });
  if (ring.length > RING_SIZE) ring.splice(0, ring.length - RING_SIZE);
}

const app = uWS.App();

app.get('/healthz', (res) => json(res, '200 OK', { status: 'ok' }));

app.get('/login/:name', (res, req) => {
  const user = req.getParameter(0) ?? '';
  const token = randomBytes(16).toString('base64url');
  sessions.set(token, user);
  json(res, '200 OK', { user, token, expiresAt: Date.now() + 3_600_000 });
});

app.ws<SocketData>('/ws', {
  maxPayloadLength: 16 * 1024,
  idleTimeout: 120,
  maxBackpressure: 1024 * 1024,
  closeOnBackpressureLimit: 0, // typed as a number in this build; 0 = skip, do not close
  upgrade: (res, req, context) => {
    const auth = req.getHeader('authorization');
    const user = sessions.get(auth.startsWith('Bearer ') ? auth.slice(7) : '');
    if (user === undefined) {
      res.writeStatus('401 Unauthorized').end();
      return;
    }
    const after = Number(req.getQuery('after') ?? 'NaN');
    res.upgrade<SocketData>(
      { user, after: Number.isFinite(after) ? after : -1 },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    const { user, after } = ws.getUserData();
    ws.subscribe(TOPIC);
    if (EXTRA_TOPICS) {
      ws.subscribe(`user/${user}`);
      ws.subscribe('presence');
    }
    ws.cork(() => {
      ws.send(JSON.stringify({ type: 'welcome', user, seq, online: 0, users: [], truncated: false }));
      if (after < 0) return;
      for (const entry of ring) if (entry.id > after) ws.send(entry.frame);
    });
  },
  message: (ws, message) => {
    const frame = JSON.parse(decoder.decode(message)) as { text?: unknown; cid?: unknown };
    const id = ++seq;
    const out = JSON.stringify({
      type: 'receive',
      id,
      from: ws.getUserData().user,
      text: frame.text,
      ts: Date.now(),
      cid: frame.cid,
    });
    remember(id, out);
    app.publish(TOPIC, out);
  },
});

app.listen(HOST, PORT, (listenSocket) => {
  if (!listenSocket) {
    console.error(`bare-uws: cannot listen on ${HOST}:${PORT}`);
    process.exit(1);
  }
  console.log(`bare-uws listening on ${HOST}:${PORT}`);
});
