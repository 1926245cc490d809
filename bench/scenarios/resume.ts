/**
 * (e) Resume storm: N clients are connected and have seen message L; they all disconnect, M more
 * messages are posted, and all N reconnect at once with `after=L`. Measured: the time from the
 * first reconnect until every client has received all M missed messages.
 */
import { connect, connectAll, loginAll, userNames, warmUp, withTimeout } from '../lib/clients.ts';
import { round, type ScenarioEnv } from '../lib/env.ts';
import { cpuMicros, sleep } from '../lib/proc.ts';
import { DISTURBED_PCT, NoiseMeter, waitForQuiet } from '../lib/quiet.ts';
import type { RawWs } from '../lib/rawws.ts';

export interface ResumeResult {
  clients: number;
  missed: number;
  caughtUp: number;
  failed: number;
  catchUpMs: number;
  serverCpuMs: number;
  serverUsPerReplayedMessage: number;
  otherCpuPct: number;
  retries?: number;
}

const MISSED_MARK = Buffer.from('rs#');

/** The sender parses its own (few) frames to learn the ids the server gave its messages. */
function echoWatcher(): { onData: (buf: Buffer, s: number, e: number) => void; waitFor: (cid: string) => Promise<number> } {
  const seen = new Map<string, number>();
  const waiters = new Map<string, (id: number) => void>();
  return {
    onData: (buf, s, e) => {
      const text = buf.toString('utf8', s, e);
      // A Socket.IO event `42["receive",{…}]` is the frame of its event's type (the payload may leave `type` out).
      const event = text.startsWith('42') ? (JSON.parse(text.slice(2)) as [string, object]) : undefined;
      const frame = (event === undefined ? JSON.parse(text) : { ...event[1], type: event[0] }) as { type?: string; cid?: string; id?: number };
      if (frame.type !== 'receive' || typeof frame.cid !== 'string' || typeof frame.id !== 'number') return;
      seen.set(frame.cid, frame.id);
      waiters.get(frame.cid)?.(frame.id);
    },
    waitFor: (cid) => {
      const id = seen.get(cid);
      if (id !== undefined) return Promise.resolve(id);
      return new Promise((resolve) => waiters.set(cid, resolve));
    },
  };
}

async function resumeOnce(env: ScenarioEnv): Promise<ResumeResult> {
  const { clients, missed } = env.config.resume;
  const server = await env.start('all');
  const dropped = await warmUp(env.scope, env.target, server);
  if (dropped !== undefined) env.warn(dropped);
  const tokens = await loginAll(env.scope, env.scope.pool(server, 32), userNames('r', clients + 1));
  const senderToken = tokens.pop() as string;
  const echo = echoWatcher();
  const sender = await connect(env.scope, env.target, server, senderToken, clients, { onData: echo.onData });
  const first = await connectAll(env.scope, env.target, server, tokens, 128);
  sender.send(env.target.messageFrame('mark', 'mark'));
  const lastSeen = await withTimeout(echo.waitFor('mark'), 10_000, 'mark echo');
  await sleep(300);
  await Promise.all(first.map((ws) => ws.close()));
  for (let k = 1; k <= missed; k++) sender.send(env.target.messageFrame(`rs#${k}`, `rs${k}`));
  await withTimeout(echo.waitFor(`rs${missed}`), 10_000, 'last missed message echo');
  await sleep(env.config.quick ? 100 : 500);

  await waitForQuiet(DISTURBED_PCT, env.config.quick ? 1000 : 20_000, env.log);
  const noise = new NoiseMeter(server.pid);
  let caughtUp = 0;
  let resolveAll: () => void = () => undefined;
  const allCaughtUp = new Promise<void>((resolve) => (resolveAll = resolve));
  const counts = new Int32Array(clients);
  const cpu0 = cpuMicros(server.pid);
  const t0 = performance.now();
  let failed = 0;
  const reconnects = tokens.map((token, i) =>
    connect(env.scope, env.target, server, token, i, {
      after: lastSeen,
      timeoutMs: 30_000,
      onData: (buf, s, e) => {
        if (buf.subarray(s, e).indexOf(MISSED_MARK) < 0) return;
        if (++(counts[i] as number) === missed && ++caughtUp === clients) resolveAll();
      },
    }).catch((error: Error) => {
      if (failed++ === 0) env.log(`reconnect failed: ${error.message}`);
      return undefined;
    }),
  );
  await withTimeout(allCaughtUp, 60_000, 'resume catch-up').catch((error: Error) => env.log(error.message));
  const catchUpMs = performance.now() - t0;
  const cpuUs = cpuMicros(server.pid) - cpu0;
  const otherCpuPct = noise.otherPct();
  const sockets = (await Promise.all(reconnects)).filter((ws): ws is RawWs => ws !== undefined);
  for (const ws of sockets) ws.destroy();
  return {
    clients,
    missed,
    caughtUp,
    failed,
    catchUpMs: round(catchUpMs, 1),
    serverCpuMs: round(cpuUs / 1000, 1),
    serverUsPerReplayedMessage: round(cpuUs / Math.max(1, caughtUp * missed), 2),
    otherCpuPct,
  };
}

/** A resume storm, run again (once, on a fresh server) when other processes took the CPU meanwhile. */
export async function resume(env: ScenarioEnv): Promise<ResumeResult> {
  const first = await resumeOnce(env);
  if (first.otherCpuPct <= DISTURBED_PCT || env.config.quick) return first;
  env.log(`disturbed by other processes (${first.otherCpuPct}%): again`);
  const again = await resumeOnce(env);
  return { ...(again.otherCpuPct < first.otherCpuPct ? again : first), retries: 1 };
}
