/**
 * Building blocks shared by the scenarios: bounded-concurrency loops, logging users in, opening
 * many sockets from several loopback source addresses (each 127.0.0.x has its own ~28k ephemeral
 * ports, which 50k connections need), and a scope that tears everything down on any exit path.
 */
import { HttpPool } from './http.ts';
import type { ServerProc } from './proc.ts';
import { RawWs } from './rawws.ts';
import type { Target } from './targets.ts';

export const HOST = '127.0.0.1';
export const SOURCE_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);

/** Everything a scenario opened; `dispose` closes it all (used on success, failure and timeout). */
export class Scope {
  readonly sockets = new Set<RawWs>();
  readonly pools = new Set<HttpPool>();
  private readonly disposers: Array<() => void> = [];
  aborted = false;

  track(ws: RawWs): RawWs {
    this.sockets.add(ws);
    void ws.closed.then(() => this.sockets.delete(ws));
    return ws;
  }

  /** Runs `fn` on dispose (a worker process to stop). */
  defer(fn: () => void): void {
    this.disposers.push(fn);
  }

  pool(server: ServerProc, size: number): HttpPool {
    const pool = new HttpPool(HOST, server.port, size, SOURCE_ADDRESSES);
    this.pools.add(pool);
    return pool;
  }

  dispose(): void {
    this.aborted = true;
    for (const ws of this.sockets) ws.destroy();
    this.sockets.clear();
    for (const pool of this.pools) pool.close();
    this.pools.clear();
    for (const fn of this.disposers.splice(0)) fn();
  }
}

export class ScenarioAborted extends Error {
  constructor() {
    super('scenario aborted');
    this.name = 'ScenarioAborted';
  }
}

/** Runs fn over items with at most `limit` in flight; stops early when the scope is aborted. */
export async function mapLimit<T, R>(
  scope: Scope,
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      if (scope.aborted) throw new ScenarioAborted();
      const index = next++;
      results[index] = await fn(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function login(pool: HttpPool, name: string): Promise<string> {
  const res = await pool.get(`/login/${encodeURIComponent(name)}`);
  if (res.status !== 200) throw new Error(`login ${name}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
  const token = (JSON.parse(res.body) as { token?: unknown }).token;
  if (typeof token !== 'string') throw new Error(`login ${name}: no token in ${res.body.slice(0, 200)}`);
  return token;
}

export interface ConnectOptions {
  after?: number | undefined;
  onData?: ConstructorParameters<typeof RawWs>[0]['onData'];
  timeoutMs?: number;
}

/** Opens one socket and waits for its welcome frame. */
export async function connect(
  scope: Scope,
  target: Target,
  server: Pick<ServerProc, 'port'>,
  token: string,
  index: number,
  options: ConnectOptions = {},
): Promise<RawWs> {
  const ws = scope.track(
    new RawWs({
      host: HOST,
      port: server.port,
      path: target.wsPath(options.after),
      token,
      localAddress: SOURCE_ADDRESSES[index % SOURCE_ADDRESSES.length],
      eio: target.eio,
      onData: options.onData,
    }),
  );
  try {
    await withTimeout(ws.ready, options.timeoutMs ?? 15_000, `socket ${index}`);
  } catch (error) {
    ws.destroy();
    throw error;
  }
  return ws;
}

export async function loginAll(scope: Scope, pool: HttpPool, names: readonly string[], concurrency = 32): Promise<string[]> {
  return mapLimit(scope, names, concurrency, (name) => login(pool, name));
}

export async function connectAll(
  scope: Scope,
  target: Target,
  server: Pick<ServerProc, 'port'>,
  tokens: readonly string[],
  concurrency: number,
  options: ConnectOptions = {},
): Promise<RawWs[]> {
  return mapLimit(scope, tokens, concurrency, (token, index) => connect(scope, target, server, token, index, options));
}

/** Frames received so far by all of `sockets`. */
export function totalFrames(sockets: readonly RawWs[]): number {
  let sum = 0;
  for (const ws of sockets) sum += ws.frames;
  return sum;
}

export async function closeAll(sockets: readonly RawWs[], concurrency = 512): Promise<void> {
  const scope = new Scope();
  await mapLimit(scope, sockets, concurrency, (ws) => ws.close());
}

/** Unique user names per run so a server reused across scenarios never sees a name twice. */
let runTag = Date.now().toString(36).slice(-4);
export function userNames(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${runTag}_${i}`);
}
export function retag(): void {
  runTag = Date.now().toString(36).slice(-4);
}

/**
 * Opens and closes one throwaway socket before anything is measured, so first-use costs (lazy
 * initialisation, JIT) do not land in the numbers. Returns a warning when the server dropped it.
 */
export async function warmUp(scope: Scope, target: Target, server: ServerProc, settleMs = 300): Promise<string | undefined> {
  const pool = scope.pool(server, 1);
  const token = await login(pool, `warm${Date.now().toString(36)}`);
  const ws = await connect(scope, target, server, token, 0);
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  const dropped = ws.isClosed ? `the server dropped the warm-up socket (${ws.closeInfo ?? 'no close frame: 1006'})` : undefined;
  await ws.close();
  pool.close();
  return dropped;
}
