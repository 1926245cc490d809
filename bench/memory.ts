/**
 * What one idle connected user costs the node, measured inside the node's process after forced
 * garbage collections (the RSS the bench's idle scenario reads also holds garbage not yet collected).
 * `npm run bench:memory [-- --users=5000 --presence=watch]`; needs `--expose-gc`, which the script sets.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfig } from '../src/config.ts';
import { createChatNode } from '../src/node.ts';

const { values } = parseArgs({ options: { users: { type: 'string', default: '5000' }, presence: { type: 'string', default: 'watch' } } });
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:memory does)');
const users = Number(values.users);
const config = loadConfig({ CHAT_PORT: '0', CHAT_LOG_LEVEL: 'warn', CHAT_PRESENCE: values.presence });
const node = createChatNode(config, pino({ level: 'warn' }));
const { url } = await node.start();

const settled = (): NodeJS.MemoryUsage => {
  gc();
  gc();
  return process.memoryUsage();
};
const before = settled();
const clients = fork(fileURLToPath(new URL('./idle-clients.ts', import.meta.url)), [url, String(users)], { execArgv: ['--import', 'tsx'] });
await new Promise((resolve) => clients.once('message', resolve));
const after = settled();
const perUser = (key: keyof NodeJS.MemoryUsage): string => ((after[key] - before[key]) / users / 1024).toFixed(2);
console.log(
  `${users} idle users, presence ${config.presence}: per user ${perUser('rss')} KB RSS = ` +
    `${perUser('heapUsed')} KB live JS heap (actors, state, journal, session cache) within ${perUser('heapTotal')} KB heap V8 keeps committed, ` +
    `the rest native (uWebSockets.js sockets and topics)`,
);
clients.kill();
await node.stop();
process.exit(0);
