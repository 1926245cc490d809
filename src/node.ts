/**
 * @module node
 * Assembles one chat node from its parts: journal → supervisor runtime → gateway and HTTP
 * routes → uWebSockets.js server. `start` listens; `stop` drains and closes.
 */
import type { Logger } from 'pino';
import type { InspectionEvent } from 'xstate';
import type { Config } from './config.ts';
import { Sessions } from './auth/sessions.ts';
import { MemoryJournal } from './journal/memory.ts';
import { FileJournal } from './journal/file.ts';
import type { Journal } from './journal/journal.ts';
import { ChatRuntime } from './runtime/chat-runtime.ts';
import { ClusterRuntime } from './runtime/cluster-runtime.ts';
import type { Runtime } from './runtime/runtime.ts';
import { RedisLog } from './engine/redis/redis-log.ts';
import { Gateway } from './transport/gateway.ts';
import { CloseCode } from './transport/close-codes.ts';
import { startServer } from './transport/uws.ts';
import { SWEEP_MS as EXPIRY_SWEEP_SOCKETS_MS } from './transport/expiry-wheel.ts';
import { createSocketIoServer } from './transport/socketio.ts';
import type { Route, RunningServer } from './transport/types.ts';
import { createRoutes } from './http/routes.ts';
import { Metrics } from './metrics.ts';
import { createAddressLimits, type AddressLimits } from './http/address-limits.ts';
import { listenForMetrics, type MetricsListener } from './http/metrics-listener.ts';
import { createInspection, type Inspection } from './inspect/inspector.ts';

export interface ChatNodeOptions {
  journal?: Journal;
  inspect?: (event: InspectionEvent) => void;
  /** Extra routes mounted before the built-in ones (static site, OIDC). */
  extraRoutes?: (parts: { runtime: Runtime; sessions: Sessions; addressLimits: AddressLimits }) => Route[];
  /**
   * The journal failed (a write or fsync error): called once, at once, possibly inside the failed append.
   * `npm start` (src/main.ts) exits non-zero here. A node whose hook returns stays up but unready, refuses
   * every state-changing request (503 `unavailable`) and closes its sockets with 1011 (tests observe this).
   */
  onFatal?: (error: Error) => void;
}

export interface ChatNode {
  readonly runtime: Runtime;
  readonly gateway: Gateway;
  readonly sessions: Sessions;
  readonly metrics: Metrics;
  /** Live inspection (`CHAT_INSPECT`), when configured. */
  readonly inspection: Inspection | undefined;
  /** The journal or the supervisor failed: the node answers nothing that changes state. */
  readonly failed: boolean;
  /** `metricsUrl`: the metrics listener's `GET /metrics` (undefined with `CHAT_METRICS_PORT=off`). */
  start(): Promise<{ port: number; url: string; metricsUrl: string | undefined }>;
  stop(): Promise<void>;
}

const EXPIRY_SWEEP_MS = 60_000;
/** How often sockets over CHAT_MAX_BACKPRESSURE are looked for and closed. */
const SLOW_CONSUMER_CHECK_MS = 100;

export function createJournal(config: Readonly<Config>, logger: Logger): Journal {
  if (config.journal.kind === 'memory') {
    return new MemoryJournal({ ...config.history, maxEvents: Math.max(100_000, config.history.maxMessages * 4) });
  }
  return new FileJournal({ ...config.history, ...config.journal, logger });
}

export function createChatNode(config: Readonly<Config>, logger: Logger, options: ChatNodeOptions = {}): ChatNode {
  const engine = config.engine;
  // Several nodes keep no journal of their own: the shared log (Redis) holds every fact.
  const journal = options.journal ?? (engine.kind === 'redis' ? undefined : createJournal(config, logger));
  const sessions = new Sessions(config.session);
  const inspection = config.inspect ? createInspection(config.inspect, logger) : undefined;
  const inspect = options.inspect ?? inspection?.inspect;
  let gateway: Gateway | undefined;
  let runtime: Runtime | undefined;
  const log = journal === undefined && engine.kind === 'redis' ? new RedisLog({ target: engine.target, ttlMs: engine.nodeTtlMs, logger }) : undefined;
  let failure: Error | undefined;
  let ready = false;
  const fatal = (error: Error): void => {
    if (failure) return;
    failure = error;
    ready = false;
    if (log) logger.fatal({ err: error }, 'the shared log cannot be followed: this node must not go on (restart it)');
    else logger.fatal({ err: error, path: config.journal.kind === 'file' ? config.journal.path : undefined }, 'journal failed: this node must not go on');
    // Unready from now on; the sockets are closed outside the failed append's turn (if the hook lets us live that long).
    setImmediate(() => gateway?.closeAll(CloseCode.InternalError, 'the node failed; reconnect to another'));
    options.onFatal?.(error);
  };
  journal?.watchFailure?.(fatal);
  const addressLimits = createAddressLimits(config, (kind) => metrics.addressLimited(kind));
  const metrics = new Metrics({
    trackedAddresses: (kind) => addressLimits.tracked(kind),
    connections: () => gateway?.connections ?? 0,
    usersByState: () => runtime?.usersByState() ?? { online: 0, grace: 0, connecting: 0 },
    ...(log ? { engineStats: () => log.stats() } : {}),
  });
  runtime =
    log !== undefined && engine.kind === 'redis'
      ? new ClusterRuntime({
          log,
          graceMs: config.graceMs,
          shardSize: config.shardSize,
          ttlMs: engine.nodeTtlMs,
          snapshotEvery: engine.snapshotEvery,
          history: config.history,
          logger,
          // A whole TTL without the log: the load balancer moves these clients to nodes that still reach it.
          onLost: () => {
            // Entries this node never read were trimmed: only a restart (from the newest snapshot) can catch up.
            if (log.stats().errors.trimmed > 0) fatal(new Error('this node missed log entries that were trimmed'));
            else gateway?.closeAll(CloseCode.ServiceRestart, 'this node lost the chat engine; reconnect');
          },
          ...(inspect ? { inspect } : {}),
        })
      : new ChatRuntime({
          journal: journal ?? createJournal(config, logger),
          graceMs: config.graceMs,
          shardSize: config.shardSize,
          logger,
          observeAppend: (seconds) => metrics.observeJournalAppend(seconds),
          onFatal: fatal,
          ...(inspect ? { inspect } : {}),
        });
  gateway = new Gateway(config, runtime, sessions, logger, metrics, addressLimits);
  const socketIo = config.socketIo ? createSocketIoServer(config, gateway, logger, metrics) : undefined;
  let server: RunningServer | undefined;
  let sweep: ReturnType<typeof setInterval> | undefined;
  let slowConsumerCheck: ReturnType<typeof setInterval> | undefined;
  let expiryCheck: ReturnType<typeof setInterval> | undefined;
  let metricsListener: MetricsListener | undefined;
  let stopping: Promise<void> | undefined;

  const routes = [
    ...(options.extraRoutes?.({ runtime, sessions, addressLimits }) ?? []),
    ...createRoutes({ config, runtime, sessions, metrics, addressLimits, ready: () => ready && runtime.ready }),
  ];

  return {
    runtime,
    gateway,
    sessions,
    metrics,
    inspection,
    get failed() {
      return failure !== undefined;
    },
    async start() {
      await inspection?.start();
      await runtime.start();
      server = await startServer({
        host: config.host,
        port: config.port,
        ...(config.tls ? { tls: config.tls } : {}),
        routes,
        socketPath: '/ws',
        sockets: gateway,
        limits: config.limits,
        ...(socketIo ? { attachApp: socketIo.attach } : {}),
        onHandlerError: (error, request) => logger.error({ err: error, path: request.path }, 'request handler failed'),
        onSocketError: (error) => logger.error({ err: error }, 'websocket handler failed; closed that socket'),
      });
      gateway.attach(server);
      if (config.metrics.port !== undefined) metricsListener = await listenForMetrics(metrics, config.metrics.host, config.metrics.port);
      sweep = setInterval(() => runtime.expireSessions(), EXPIRY_SWEEP_MS);
      sweep.unref();
      slowConsumerCheck = setInterval(() => gateway.closeSlowConsumers(), SLOW_CONSUMER_CHECK_MS);
      slowConsumerCheck.unref();
      expiryCheck = setInterval(() => gateway.closeExpired(), EXPIRY_SWEEP_SOCKETS_MS);
      expiryCheck.unref();
      ready = failure === undefined;
      const scheme = config.tls ? 'https' : 'http';
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return { port: server.port, url: `${scheme}://${host}:${server.port}`, metricsUrl: metricsListener?.url };
    },
    stop() {
      // Idempotent: a second close of the listen socket would abort the process inside uWS.
      stopping ??= (async () => {
        ready = false;
        if (sweep) clearInterval(sweep);
        if (slowConsumerCheck) clearInterval(slowConsumerCheck);
        if (expiryCheck) clearInterval(expiryCheck);
        runtime.drain();
        server?.stopListening();
        gateway.closeAll(CloseCode.GoingAway, 'server shutting down; reconnect and resume');
        socketIo?.close();
        gateway.flushPresence();
        gateway.stop();
        await runtime.stop();
        await journal?.close();
        await inspection?.stop();
        await metricsListener?.close();
      })();
      return stopping;
    },
  };
}
