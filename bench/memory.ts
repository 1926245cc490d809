/**
 * What one idle connected user costs the node, measured inside the node's process after forced
 * garbage collections (the RSS the bench's idle scenario reads also holds garbage not yet collected).
 * `npm run bench:memory [-- --users=5000 --presence=watch --by-kind]`; needs `--expose-gc`, which the script
 * sets. With `--by-kind`, a heap snapshot before and after shows what the live heap per user is made of.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createChatNode } from '../src/node.ts';
import { growthPerUser, heapKinds, type KindTotal } from './lib/heap-kinds.ts';

const { values } = parseArgs({ options: { users: { type: 'string', default: '5000' }, presence: { type: 'string', default: 'watch' }, 'by-kind': { type: 'boolean', default: false } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:memory does)');
const users = Number(values.users);
// Every idle user logs in from loopback: the per-client-IP limits are off here.
const config = loadConfig({ CHAT_PORT: '0', CHAT_LOG_LEVEL: 'warn', CHAT_PRESENCE: values.presence, CHAT_LOGIN_RATE_PER_MIN: '0', CHAT_UPGRADE_RATE_PER_MIN: '0' });
const node = createChatNode(config, pino({ level: 'warn' }));
const { url } = await node.start();

const settled = (): NodeJS.MemoryUsage => {
  gc();
  gc();
  return process.memoryUsage();
};
const snapshots = values['by-kind'] ? mkdtempSync(join(tmpdir(), 'heap-')) : undefined;
const kinds = (name: string): Map<string, KindTotal> | undefined => (snapshots ? heapKinds(writeHeapSnapshot(join(snapshots, name))) : undefined);
const before = settled();
const kindsBefore = kinds('before.heapsnapshot');
const clients = fork(fileURLToPath(new URL('./idle-clients.ts', import.meta.url)), [url, String(users)], { execArgv: ['--import', 'tsx'] });
await new Promise((resolve) => clients.once('message', resolve));
const after = settled();
const kindsAfter = kinds('after.heapsnapshot');
const perUser = (key: keyof NodeJS.MemoryUsage): string => ((after[key] - before[key]) / users / 1024).toFixed(2);
console.log(
  `${users} idle users, presence ${config.presence}: per user ${perUser('rss')} KB RSS = ` +
    `${perUser('heapUsed')} KB live JS heap (actors, state, journal, session cache) within ${perUser('heapTotal')} KB heap V8 keeps committed, ` +
    `the rest native (uWebSockets.js sockets and topics)`,
);
if (kindsBefore && kindsAfter) {
  const rows = growthPerUser(kindsBefore, kindsAfter, users);
  console.log(`(writing the snapshots grew RSS: read the RSS figure from a run without --by-kind; code is the JIT's, compiled during the logins)`);
  console.log(`live heap per user by kind (heap snapshots), ${rows.reduce((sum, row) => sum + row.bytes, 0).toFixed(0)} bytes in all:`);
  for (const row of rows.slice(0, 25)) console.log(`${row.bytes.toFixed(0).padStart(7)} B ${row.count.toFixed(2).padStart(6)} ×  ${row.kind}`);
  rmSync(snapshots!, { recursive: true });
}
clients.kill();
await node.stop();
process.exit(0);
