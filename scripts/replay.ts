/**
 * `npm run replay -- <journal> [--out snapshot.json] [--grace-ms N] [--shard-size N]`: replays a
 * journal through the machines (src/inspect/replay.ts) and prints every user's actor state, presence,
 * sockets and sessions, and the sequence; `--out` writes the same as JSON with each user actor's
 * persisted snapshot and the machine definitions, for the Stately tools. Reads the file journal's
 * checksummed lines (`CHAT_JOURNAL=file:…`) or plain JSON lines, one domain event per line. A journal
 * compacted online is replayed from its snapshot on, the node's state and actors continuing there.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { readJournalFile } from '../src/journal/scan.ts';
import { createInspection } from '../src/inspect/inspector.ts';
import { replayJournal, type ReplayRecord, type ReplayResult } from '../src/inspect/replay.ts';
import { userMachine } from '../src/machines/user.machine.ts';
import { shardMachine } from '../src/machines/shard.machine.ts';
import { supervisorMachine } from '../src/machines/supervisor.machine.ts';

const CHECKSUMMED = /^.* [0-9a-f]{8}$/;

/** The journal's records: checksummed lines through the file journal's own reader, else plain JSON lines. */
export function loadJournal(path: string): { records: ReplayRecord[]; dropped: number } {
  const text = readFileSync(path, 'utf8');
  const first = text.split('\n').find((line) => line.trim() !== '') ?? '';
  if (CHECKSUMMED.test(first) && !first.trimEnd().endsWith('}')) {
    const read = readJournalFile(path);
    if (read.end.kind === 'corrupt') throw new Error(`${path}: bad record at byte ${read.end.offset} (${read.end.reason}); see npm run journal -- check`);
    return { records: read.events as ReplayRecord[], dropped: read.end.kind === 'torn' ? 1 : 0 };
  }
  const records: ReplayRecord[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as ReplayRecord);
    } catch (error) {
      throw new Error(`${path}:${index + 1}: not a JSON line (${(error as Error).message})`, { cause: error });
    }
  });
  return { records, dropped: 0 };
}

export function formatResult(result: ReplayResult): string {
  const { supervisor } = result;
  const rows = result.users.map(
    (u) => `  ${u.user.padEnd(24)} ${u.actor.padEnd(10)} ${u.presence.padEnd(8)} ${String(u.sockets).padStart(7)} ${String(u.sessions).padStart(8)}`,
  );
  const since = result.sessionsSince === undefined ? [] : [`sessions: started since the online compaction at ${new Date(result.sessionsSince).toISOString()} (it dropped the earlier starts)`];
  return [
    `replayed ${result.records} records (${result.restarts} restarts, ${result.compactions} online compactions), ended at ${new Date(result.endedAt).toISOString()}`,
    `supervisor: ${supervisor.value}, seq ${supervisor.seq}, listed ${supervisor.listed} (online ${supervisor.online}), ${supervisor.liveUserActors} user actors in ${supervisor.shards} shards`,
    `  ${'user'.padEnd(24)} ${'actor'.padEnd(10)} ${'presence'.padEnd(8)} sockets sessions`,
    ...rows,
    ...since,
    result.divergences.length === 0
      ? 'the machines reproduced every journaled fact'
      : [`${result.divergences.length} divergences:`, ...result.divergences.map((d) => `  ${d}`)].join('\n'),
  ].join('\n');
}

/** What `--out` writes: the result plus the machine definitions, so the file stands on its own. */
export function exportSnapshot(journal: string, result: ReplayResult): string {
  const machines = Object.fromEntries([userMachine, shardMachine, supervisorMachine].map((m) => [m.id, JSON.parse(JSON.stringify(m)) as unknown]));
  return `${JSON.stringify({ journal, ...result, machines }, null, 2)}\n`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'grace-ms': { type: 'string', default: '10000' },
      'shard-size': { type: 'string', default: '128' },
      inspect: { type: 'string' },
    },
  });
  const [path] = positionals;
  if (!path) {
    process.stderr.write('usage: npm run replay -- <journal> [--out snapshot.json] [--grace-ms N] [--shard-size N] [--inspect <port>]\n');
    process.exitCode = 2;
    return;
  }
  const graceMs = Number(values['grace-ms']);
  const shardSize = Number(values['shard-size']);
  if (!Number.isInteger(graceMs) || graceMs < 0 || !Number.isInteger(shardSize) || shardSize < 1) {
    process.stderr.write('--grace-ms must be a whole number ≥ 0 (the node\'s CHAT_GRACE_MS) and --shard-size ≥ 1\n');
    process.exitCode = 2;
    return;
  }
  const { records, dropped } = loadJournal(path);
  if (dropped > 0) process.stderr.write(`${path}: ${dropped} torn last line ignored\n`);
  const port = values.inspect === undefined ? undefined : Number(values.inspect);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    process.stderr.write('--inspect takes the port of the local inspector (0: any free port)\n');
    process.exitCode = 2;
    return;
  }
  const inspection = port === undefined ? undefined : createInspection({ localPort: port, log: false }, pino({ level: 'info' }, process.stderr));
  await inspection?.start();
  const result = replayJournal(records, { graceMs, shardSize, ...(inspection?.inspect ? { inspect: inspection.inspect } : {}) });
  process.stdout.write(`${formatResult(result)}\n`);
  if (values.out) {
    writeFileSync(values.out, exportSnapshot(path, result));
    process.stdout.write(`wrote ${values.out}\n`);
  }
  if (result.divergences.length > 0) process.exitCode = 1;
  if (inspection) {
    // Keep serving: the inspector page shows the replayed actors in their final states (late-join list).
    process.stdout.write(`inspect the replayed actors at ${inspection.localUrl}/ — Ctrl-C to stop\n`);
    process.once('SIGINT', () => void inspection.stop());
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`replay failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
