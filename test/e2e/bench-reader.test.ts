/**
 * The benchmark's reader processes (bench/lib/readers.ts forking bench/workers/reader.ts): a real child
 * process holds sockets on a real server (the bare uWebSockets.js baseline) and counts, per group, the
 * frames a sender in this process makes the server broadcast; a refused socket is reported with its
 * reason; the scope that started a reader kills it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectAll, loginAll, Scope, userNames } from '../../bench/lib/clients.ts';
import { freePort, type ServerProc, startServer } from '../../bench/lib/proc.ts';
import { Reader } from '../../bench/lib/readers.ts';
import { TARGETS } from '../../bench/lib/targets.ts';

const target = TARGETS['bare-uws'];
const scope = new Scope();
let server: ServerProc;

beforeAll(async () => {
  const port = await freePort();
  server = await startServer({
    name: 'bare-uws',
    args: target.nodeArgs(undefined),
    env: target.env(port, 'all'),
    port,
    readyPath: target.readyPath,
    core: 0,
    startTimeoutMs: 15_000,
    nice: 0,
  });
});

afterAll(async () => {
  scope.dispose();
  await server?.stop();
});

describe('a reader process', () => {
  it('holds sockets in another process and counts what each group of them receives', async () => {
    const reader = await Reader.start(scope, undefined);
    expect(reader.pid).not.toBe(process.pid);
    const tokens = await loginAll(scope, scope.pool(server, 2), userNames('rd', 7));
    const groups = [await reader.connect(target.id, server.port, tokens.slice(0, 4), 4), await reader.connect(target.id, server.port, tokens.slice(4, 6), 4)];
    expect(groups).toEqual([0, 1]);
    const before = await reader.counts();
    expect(before.frames).toEqual([4, 2]); // each socket's welcome
    const [sender] = await connectAll(scope, target, server, tokens.slice(6), 1);
    for (let i = 0; i < 3; i++) sender?.send(target.messageFrame(`m${i}`, `c${i}`));
    await vi.waitFor(
      async () => {
        const now = await reader.counts();
        expect(now.frames).toEqual([4 + 4 * 3, 2 + 2 * 3]);
        expect(now.closed).toBe(0);
      },
      { timeout: 10_000, interval: 50 },
    );
  });

  it('reports a socket the server refused, with the reason', async () => {
    const reader = await Reader.start(scope, undefined);
    await expect(reader.connect(target.id, server.port, ['not-a-token'], 1)).rejects.toThrow(/upgrade refused: HTTP\/1.1 401/);
    expect((await reader.counts()).frames).toEqual([0]); // the failed group stays, empty
  });

  it('is killed with the scope that started it', async () => {
    const own = new Scope();
    const reader = await Reader.start(own, undefined);
    expect((await reader.counts()).frames).toEqual([]);
    own.dispose();
    await vi.waitFor(() => expect(reader.counts()).rejects.toThrow(/exited \(SIGKILL\)/), { timeout: 10_000, interval: 50 });
  });
});
