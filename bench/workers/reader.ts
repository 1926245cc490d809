/**
 * A reader process of the load generator (forked by `bench/lib/readers.ts`): on request it opens sockets
 * with the tokens it is given and from then on only counts the frames each group receives; it answers
 * counts over IPC. It never times anything: latency is measured by the parent, which sends and probes.
 * It exits when the parent goes away.
 */
import { connectAll, Scope, totalFrames } from '../lib/clients.ts';
import type { RawWs } from '../lib/rawws.ts';
import type { ReaderReply, ReaderRequest } from '../lib/readers.ts';
import { TARGETS } from '../lib/targets.ts';

const scope = new Scope();
const groups: RawWs[][] = [];

function reply(message: ReaderReply): void {
  process.send?.(message);
}

async function handle(request: ReaderRequest): Promise<void> {
  if (request.type === 'count') {
    let closed = 0;
    for (const group of groups) for (const ws of group) if (ws.isClosed) closed++;
    reply({ id: request.id, type: 'count', frames: groups.map(totalFrames), closed });
    return;
  }
  const group = groups.push([]) - 1; // numbered in request order, whichever connects first
  try {
    groups[group] = await connectAll(scope, TARGETS[request.target], { port: request.port }, request.tokens, request.concurrency);
    reply({ id: request.id, type: 'connected', group });
  } catch (error) {
    reply({ id: request.id, type: 'failed', error: (error as Error).message });
  }
}

if (process.send === undefined) throw new Error('bench/workers/reader.ts runs as a forked child of the load generator');
process.on('message', (request: ReaderRequest) => void handle(request));
process.on('disconnect', () => {
  scope.dispose();
  process.exit(0);
});
reply({ type: 'ready' });
