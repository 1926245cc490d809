/**
 * @module metrics
 * Prometheus metrics for one node (prom-client, a registry per node): connections, users by
 * state, messages in and out by kind, errors by code, slow-consumer and abnormal closes, journal append
 * latency, and Node's default process metrics (event-loop lag included). Label children are
 * bound once so the message path only increments numbers. A node on an engine adds the engine's
 * series (state, appends, errors, nodes declared down, log lag), read from its stats at scrape time.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ENGINE_ERROR_KINDS, type EngineStats } from './engine/engine-stats.ts';
import type { LogState } from './engine/log.ts';

export interface MetricsSources {
  /** Client addresses tracked by the per-IP limits (http/address-limits.ts). */
  trackedAddresses?(kind: 'login' | 'upgrade'): number;
  connections(): number;
  usersByState(): { online: number; grace: number; connecting: number };
  /** The engine's numbers (a node on Redis: `RedisLog.stats`); without it no `chat_log_*` / `chat_engine_*` series. */
  engineStats?(): EngineStats;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly messagesIn: Counter<'kind'>;
  private readonly messagesOut: Counter<'kind'>;
  private readonly errors: Counter<'code'>;
  private readonly abnormalCloses: Counter;
  private readonly slowConsumers: Counter;
  private readonly journalAppend: Histogram;
  private readonly policyCloses: Counter<'reason'>;
  private readonly addressLimitedTotal: Counter<'limit'>;
  private readonly largestSendBuffer: Gauge;
  readonly inGroup: { inc(): void };
  readonly inDirect: { inc(): void };
  readonly outGroup: { inc(value?: number): void };
  readonly outDirect: { inc(value?: number): void };

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    new Gauge({ name: 'chat_connections', help: 'Open WebSocket connections.', registers, collect() { this.set(sources.connections()); } });
    new Gauge({
      name: 'chat_users',
      help: 'Users with a live actor, by state.',
      labelNames: ['state'],
      registers,
      collect() {
        const users = sources.usersByState();
        for (const state of ['online', 'grace', 'connecting'] as const) this.set({ state }, users[state]);
      },
    });
    this.messagesIn = new Counter({ name: 'chat_messages_in_total', help: 'Messages accepted from clients, by kind.', labelNames: ['kind'], registers });
    this.messagesOut = new Counter({ name: 'chat_messages_out_total', help: 'Message frames delivered to sockets, by kind.', labelNames: ['kind'], registers });
    this.errors = new Counter({ name: 'chat_errors_total', help: 'Refused frames and requests, by error code.', labelNames: ['code'], registers });
    this.abnormalCloses = new Counter({
      name: 'chat_abnormal_closes_total',
      help: 'Connections lost without a close handshake (1006) that the node did not close: oversized or invalid frames, vanished clients.',
      registers,
    });
    this.slowConsumers = new Counter({
      name: 'chat_slow_consumer_closes_total',
      help: 'Sockets the node closed because their send buffer passed CHAT_MAX_BACKPRESSURE.',
      registers,
    });
    this.addressLimitedTotal = new Counter({
      name: 'chat_address_limited_total',
      help: 'Requests refused 429 rate_limited by a per-client-IP limit: login (CHAT_LOGIN_RATE_PER_MIN) or upgrade (CHAT_UPGRADE_RATE_PER_MIN).',
      labelNames: ['limit'],
      registers,
    });
    new Gauge({
      name: 'chat_address_limit_tracked',
      help: 'Client addresses the per-IP limits remember, by limit (at most 100000 each).',
      labelNames: ['limit'],
      registers,
      collect() {
        for (const limit of ['login', 'upgrade'] as const) this.set({ limit }, sources.trackedAddresses?.(limit) ?? 0);
      },
    });
    this.policyCloses = new Counter({
      name: 'chat_policy_closes_total',
      help: 'Sockets closed with 1008: reason frame_budget (CHAT_FRAME_RATE_PER_S) or invalid_frames (CHAT_MAX_INVALID_FRAMES).',
      labelNames: ['reason'],
      registers,
    });
    this.largestSendBuffer = new Gauge({
      name: 'chat_send_buffer_max_bytes',
      help: 'The largest send buffer of any socket at the last slow-consumer check (every 100 ms).',
      registers,
    });
    this.journalAppend = new Histogram({
      name: 'chat_journal_append_seconds',
      help: 'Time to append one event to the journal.',
      buckets: [0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.001, 0.005, 0.025, 0.1],
      registers,
    });
    this.inGroup = this.messagesIn.labels('group');
    this.inDirect = this.messagesIn.labels('direct');
    this.outGroup = this.messagesOut.labels('group');
    this.outDirect = this.messagesOut.labels('direct');
    if (sources.engineStats) registerEngineMetrics(registers, sources.engineStats);
  }

  error(code: string): void {
    this.errors.inc({ code });
  }

  abnormalClose(): void {
    this.abnormalCloses.inc();
  }

  slowConsumerClosed(): void {
    this.slowConsumers.inc();
  }

  addressLimited(limit: 'login' | 'upgrade'): void {
    this.addressLimitedTotal.inc({ limit });
  }

  policyClosed(reason: 'frame_budget' | 'invalid_frames'): void {
    this.policyCloses.inc({ reason });
  }

  sendBufferPeak(bytes: number): void {
    this.largestSendBuffer.set(bytes);
  }

  observeJournalAppend(seconds: number): void {
    this.journalAppend.observe(seconds);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

const LOG_STATES: readonly LogState[] = ['starting', 'ready', 'unavailable', 'lost', 'closed'];

/** The engine's series, each read from its stats when scraped (the counters are the engine's totals). */
function registerEngineMetrics(registers: Registry[], stats: () => EngineStats): void {
  new Gauge({
    name: 'chat_engine_state',
    help: 'The engine state of this node: 1 for the current one of starting, ready, unavailable, lost, closed.',
    labelNames: ['state'],
    registers,
    collect() {
      const current = stats().state;
      for (const state of LOG_STATES) this.set({ state }, state === current ? 1 : 0);
    },
  });
  new Counter({
    name: 'chat_log_appends_total',
    help: 'Appends this node proposed to the log, by verdict: committed, refused (a guard: user_offline, name_taken, ...), unavailable (not in the log).',
    labelNames: ['verdict'],
    registers,
    collect() {
      const { appends } = stats();
      this.reset();
      for (const verdict of ['committed', 'refused', 'unavailable'] as const) this.inc({ verdict }, appends[verdict]);
    },
  });
  new Counter({
    name: 'chat_log_declared_down_total',
    help: 'NodeDown entries this node read from the log, by who declared the node down: this_node or other_node.',
    labelNames: ['by'],
    registers,
    collect() {
      const { declaredDown } = stats();
      this.reset();
      this.inc({ by: 'this_node' }, declaredDown.byThisNode);
      this.inc({ by: 'other_node' }, declaredDown.byOthers);
    },
  });
  new Counter({
    name: 'chat_engine_errors_total',
    help: 'Engine trouble on this node, by kind: connect, link, stall, script, unreadable_entry, rollback, declared_down.',
    labelNames: ['kind'],
    registers,
    collect() {
      const { errors } = stats();
      this.reset();
      for (const kind of ENGINE_ERROR_KINDS) this.inc({ kind }, errors[kind]);
    },
  });
  new Gauge({
    name: 'chat_log_lag_entries',
    help: 'Log entries this node had not applied when it last read the log top (every CHAT_NODE_TTL_MS/3); NaN until known.',
    registers,
    collect() {
      this.set(stats().lagEntries);
    },
  });
  new Gauge({
    name: 'chat_log_lag_seconds',
    help: 'Age of the oldest log top this node has seen and not applied yet (0: caught up).',
    registers,
    collect() {
      this.set(stats().lagSeconds);
    },
  });
}
