/**
 * @module inspect/local-server
 * `CHAT_INSPECT=local[:port]`: an inspector served by the node itself, on 127.0.0.1 only.
 * `GET /` is a page that embeds the Stately Inspector (stately.ai/inspect) and relays events to
 * it; `ws://127.0.0.1:<port>/inspect` streams `StatelyInspectionEvent`s as JSON, one per message.
 * A client that connects late first gets the live actors with their latest snapshot, so it sees
 * the whole tree, not only what happens next. An adapter for @statelyai/inspect's `createInspector`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { WebSocketServer, WebSocket } from 'ws';
import type { StatelyActorEvent, StatelyInspectionEvent } from '@statelyai/inspect';

const INSPECTOR_UI = 'https://stately.ai/inspect';

export class LocalInspectorServer {
  private server: Server | undefined;
  private sockets: WebSocketServer | undefined;
  /** Live actors by session id, for clients that connect later. */
  private readonly actors = new Map<string, StatelyActorEvent>();
  /** One copy of each machine definition, however many actors share it. */
  private readonly definitions = new Map<string, string>();
  private resolveListening: () => void = () => {};
  readonly listening = new Promise<void>((resolve) => (this.resolveListening = resolve));
  url: string | undefined;

  constructor(private readonly port: number, private readonly log: Logger) {}

  start(): void {
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || (request.url ?? '/') !== '/') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(bridgePage());
    });
    const sockets = new WebSocketServer({ server, path: '/inspect', verifyClient: ({ origin }: { origin?: string }) => this.allowed(origin) });
    sockets.on('connection', (socket) => this.welcome(socket));
    server.on('error', (error) => this.log.error({ err: error }, 'local inspector failed'));
    server.listen(this.port, '127.0.0.1', () => {
      this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      this.resolveListening();
    });
    this.server = server;
    this.sockets = sockets;
  }

  /** Non-browser clients send no Origin; a browser must be on this inspector's own page. */
  private allowed(origin: string | undefined): boolean {
    if (origin === undefined || this.url === undefined) return true;
    const own = new URL(this.url);
    return origin === own.origin || origin === `http://localhost:${own.port}`;
  }

  private welcome(socket: WebSocket): void {
    for (const actor of this.actors.values()) {
      const text = stringify(actor, this.log);
      if (text !== undefined) socket.send(text);
    }
  }

  send(event: StatelyInspectionEvent): void {
    this.remember(event);
    if (!this.sockets || this.sockets.clients.size === 0) return;
    const text = stringify(event, this.log);
    if (text === undefined) return;
    for (const client of this.sockets.clients) if (client.readyState === WebSocket.OPEN) client.send(text);
  }

  private remember(event: StatelyInspectionEvent): void {
    if (event.type === '@xstate.actor') {
      const definition = event.definition === undefined ? undefined : this.intern(event.definition);
      this.actors.set(event.sessionId, { ...event, definition });
      return;
    }
    if (event.type !== '@xstate.snapshot') return;
    const actor = this.actors.get(event.sessionId);
    if (!actor) return;
    const status = (event.snapshot as { status?: string }).status;
    if (status === 'done' || status === 'error' || status === 'stopped') this.actors.delete(event.sessionId);
    else actor.snapshot = event.snapshot;
  }

  private intern(definition: string): string {
    const known = this.definitions.get(definition);
    if (known !== undefined) return known;
    this.definitions.set(definition, definition);
    return definition;
  }

  stop(): void {
    // The inspector's stop: closing happens in close(), which the node awaits.
  }

  async close(): Promise<void> {
    for (const client of this.sockets?.clients ?? []) client.terminate();
    this.sockets?.close();
    const server = this.server;
    if (!server?.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function stringify(event: StatelyInspectionEvent, log: Logger): string | undefined {
  try {
    return JSON.stringify(event);
  } catch (error) {
    log.warn({ err: error, type: event.type, sessionId: event.sessionId }, 'inspection event not serialisable; dropped');
    return undefined;
  }
}

/** The Stately Inspector in an iframe; events from `/inspect` are posted to it once it says it is ready. */
function bridgePage(): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>actor-chat inspector</title>
<style>html,body,iframe{margin:0;width:100%;height:100%;border:0}</style></head>
<body><iframe id="inspector" src="${INSPECTOR_UI}"></iframe>
<script>
const frame = document.getElementById('inspector');
const pending = [];
let ready = false;
window.addEventListener('message', (e) => {
  if (!e.data || e.data.type !== '@statelyai.connected') return;
  ready = true;
  for (const event of pending.splice(0)) frame.contentWindow.postMessage(event, '*');
});
const socket = new WebSocket('ws://' + location.host + '/inspect');
socket.onmessage = (e) => {
  const event = JSON.parse(e.data);
  if (ready) frame.contentWindow.postMessage(event, '*');
  else pending.push(event);
};
</script></body></html>
`;
}
