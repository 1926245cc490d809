/**
 * @module inspect/inspector
 * Live inspection of the actor tree (`CHAT_INSPECT`): one XState `inspect` callback that fans
 * out to the sinks configured — a Stately Inspector relay (`ws://…`, through @statelyai/inspect),
 * an inspector served by the node on loopback (`local`), and pino at trace level (`log`).
 * Nothing here exists unless configured: with inspection off the actors get no `inspect` option.
 */
import type { Logger } from 'pino';
import type { AnyActorRef, AnyEventObject, InspectionEvent, MachineContext } from 'xstate';
import { createInspector, createWebSocketInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { InspectConfig } from '../config.ts';
import { Placements } from '../machines/placement.ts';
import { LocalInspectorServer } from './local-server.ts';

export interface Inspection {
  /** The callback for `createActor(..., { inspect })`; undefined when no sink is active (no cost at all). */
  readonly inspect: ((event: InspectionEvent) => void) | undefined;
  /** Starts the sinks that listen or connect; resolves when the local inspector listens. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** `http://127.0.0.1:<port>` of the local inspector, once started. */
  readonly localUrl: string | undefined;
}

type Sink = (event: InspectionEvent) => void;

/** Whether the Stately tools use this event: they ignore microsteps and actions. */
const forStately = (event: InspectionEvent): boolean =>
  event.type === '@xstate.actor' || event.type === '@xstate.event' || event.type === '@xstate.snapshot';

export function createInspection(config: InspectConfig, logger: Logger): Inspection {
  const log = logger.child({ component: 'inspect' });
  const sinks: Sink[] = [];
  const stately: Array<{ inspect: { next?: (event: InspectionEvent) => void }; start(): void; stop(): void }> = [];
  const options = { sanitizeEvent, sanitizeContext };
  let local: LocalInspectorServer | undefined;

  if (config.log) {
    if (log.isLevelEnabled('trace')) sinks.push(transitionLogger(log));
    else log.warn('CHAT_INSPECT includes "log" but CHAT_LOG_LEVEL is not trace: transitions are not logged');
  }
  if (config.relay !== undefined) {
    stately.push(createWebSocketInspector({ url: config.relay, autoStart: false, ...options }));
  }
  if (config.localPort !== undefined) {
    local = new LocalInspectorServer(config.localPort, log);
    stately.push(createInspector(local, options));
  }
  for (const inspector of stately) {
    const next = inspector.inspect.next?.bind(inspector.inspect);
    if (next) sinks.push((event) => forStately(event) && next(plainSnapshot(named(event))));
  }

  return {
    inspect: sinks.length <= 1 ? sinks[0] : (event) => sinks.forEach((sink) => sink(event)),
    async start() {
      for (const inspector of stately) inspector.start();
      if (local) await local.listening;
      if (config.relay !== undefined) log.info({ relay: config.relay }, 'inspection events go to the Stately Inspector relay');
      const url = local?.url;
      if (url) log.info({ url }, `inspector: open ${url}/ in a browser (events at ${url.replace('http', 'ws')}/inspect)`);
    },
    async stop() {
      for (const inspector of stately) inspector.stop();
      await local?.close();
    },
    get localUrl() {
      return local?.url;
    },
  };
}

/** `@xstate.snapshot` → one trace line per transition; `@xstate.event` → one per event received. */
function transitionLogger(log: Logger): Sink {
  const id = (actor: unknown): string | undefined => (actor === undefined ? undefined : actorName(actor as AnyActorRef));
  return (event) => {
    if (event.type === '@xstate.snapshot') {
      const snapshot = event.snapshot as { value?: unknown; status: string };
      log.trace({ actor: id(event.actorRef), state: snapshot.value, status: snapshot.status, event: event.event.type }, 'actor transition');
    } else if (event.type === '@xstate.event') {
      log.trace({ actor: id(event.actorRef), from: id(event.sourceRef), event: sanitizeEvent(event.event) }, 'actor event');
    }
  };
}

/**
 * What to call an actor: a user actor's id is its slot number in its shard, so it goes by its user's
 * name (from its context, once it has one); every other actor by its id.
 */
export function actorName(actor: AnyActorRef): string {
  try {
    const user = (actor.getSnapshot() as { context?: { user?: unknown } } | undefined)?.context?.user;
    return typeof user === 'string' ? user : actor.id;
  } catch {
    return actor.id; // still initialising
  }
}

/**
 * `@xstate.actor` of a user actor → the same, with the actor going by its user's name (the Stately tools
 * show the id as the name, and read it after the actor has initialised).
 */
function named(event: InspectionEvent): InspectionEvent {
  if (event.type !== '@xstate.actor') return event;
  const ref = event.actorRef as AnyActorRef;
  if ((ref as { logic?: { config?: { id?: string } } }).logic?.config?.id !== 'user') return event;
  const actorRef = new Proxy(ref, { get: (target, key) => (key === 'id' ? actorName(target) : Reflect.get(target, key)) });
  return { ...event, actorRef };
}

/**
 * The inspector serialises each snapshot whole; the supervisor's context holds the presence tree and
 * every session, so it is replaced by a plain snapshot with a summary before serialisation.
 */
function plainSnapshot(event: InspectionEvent): InspectionEvent {
  if (event.type !== '@xstate.snapshot') return event;
  const { status, value, context, output, error } = event.snapshot as { status: string; value?: unknown; context?: MachineContext; output?: unknown; error?: unknown };
  const plain = { status, value, context: context === undefined ? undefined : sanitizeContext(context), output, error };
  return { ...event, snapshot: plain as typeof event.snapshot };
}

/** Message texts leave the node as their length only. */
export function sanitizeEvent(event: AnyEventObject): AnyEventObject {
  const text = (event as { text?: unknown }).text;
  return typeof text === 'string' ? { ...event, text: `[${text.length} chars]` } : event;
}

/** The supervisor's context as a small summary; user and shard contexts are small and pass as they are. */
export function sanitizeContext(context: MachineContext): MachineContext {
  const chat = (context as { chat?: unknown }).chat as
    | { seq: number; online: number; presence: { size: number }; sockets: Map<string, number>; revoked: Map<string, unknown>; identities: Map<string, unknown>; sessionsCutoff: number }
    | undefined;
  const placement = (context as { placement?: unknown }).placement;
  if (chat === undefined || !(placement instanceof Placements)) return context;
  return {
    seq: chat.seq,
    listed: chat.presence.size,
    online: chat.online,
    usersWithSockets: chat.sockets.size,
    revoked: chat.revoked.size,
    boundNames: chat.identities.size,
    sessionsCutoff: chat.sessionsCutoff,
    liveUserActors: placement.size,
    shards: placement.shards,
    graceMs: (context as { graceMs?: number }).graceMs,
    shardSize: (context as { shardSize?: number }).shardSize,
  };
}

export type { StatelyInspectionEvent };
