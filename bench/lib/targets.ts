/**
 * The three servers under test and how to drive each: how to start it, where its WebSocket lives,
 * and how a chat message is framed for it. Everything else in the scenarios is the same for all.
 */
import { readFileSync } from 'node:fs';

export type TargetId = 'bare-uws' | 'socketio' | 'actor-chat';
export type PresenceMode = 'all' | 'watch';

export interface Target {
  id: TargetId;
  label: string;
  /** Engine.IO/Socket.IO framing on the socket */
  eio: boolean;
  /** node arguments that start the server (cwd: the repository root) */
  nodeArgs(profileDir: string | undefined): string[];
  env(port: number, presence: PresenceMode): Record<string, string>;
  readyPath: string;
  wsPath(after?: number): string;
  /** the client → server frame for a group message */
  messageFrame(text: string, cid: string): string;
}

function chatMessage(text: string, cid: string): string {
  return JSON.stringify({ type: 'message', text, cid });
}

/**
 * The V8 flags `npm start` runs the node with (see docs/operations.md, "Memory and V8 flags"), read
 * from package.json so that the benchmark measures the node exactly as it is shipped.
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  if (words[0] !== 'node') throw new Error(`package.json start script does not start with node: ${pkg.scripts.start}`);
  return words.slice(1, words.indexOf('--import'));
}

function profileArgs(profileDir: string | undefined): string[] {
  return profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
}

export const TARGETS: Record<TargetId, Target> = {
  'bare-uws': {
    id: 'bare-uws',
    label: 'bare uWebSockets.js',
    eio: false,
    nodeArgs: (profileDir) => [...profileArgs(profileDir), '--import', 'tsx', 'bench/servers/bare-uws.ts'],
    env: (port) => ({ BENCH_HOST: '127.0.0.1', BENCH_PORT: String(port) }),
    readyPath: '/healthz',
    wsPath: (after) => (after === undefined ? '/ws' : `/ws?after=${after}`),
    messageFrame: chatMessage,
  },
  socketio: {
    id: 'socketio',
    label: 'Socket.IO 4.8',
    eio: true,
    nodeArgs: (profileDir) => [...profileArgs(profileDir), '--import', 'tsx', 'bench/servers/socketio.ts'],
    env: (port) => ({ BENCH_HOST: '127.0.0.1', BENCH_PORT: String(port) }),
    readyPath: '/healthz',
    wsPath: (after) => `/socket.io/?EIO=4&transport=websocket${after === undefined ? '' : `&after=${after}`}`,
    messageFrame: (text, cid) => `42${JSON.stringify(['message', { type: 'message', text, cid }])}`,
  },
  'actor-chat': {
    id: 'actor-chat',
    label: 'actor-chat',
    eio: false,
    nodeArgs: (profileDir) => [...startFlags(), ...profileArgs(profileDir), '--import', 'tsx', 'src/main.ts'],
    env: (port, presence) => ({
      CHAT_HOST: '127.0.0.1',
      CHAT_PORT: String(port),
      CHAT_LOG_LEVEL: 'warn',
      CHAT_PRESENCE: presence,
      CHAT_PRESENCE_FLUSH_MS: '50',
      // The per-user rate limit stays on (every message still takes a token) but is raised above what
      // 10 senders need at 10,000 msg/s: the default 20/s per user would refuse the benchmark's own load.
      CHAT_RATE_PER_S: '100000',
      CHAT_RATE_BURST: '100000',
      // The per-client-IP limits on logins and upgrades are off: every simulated user comes from loopback.
      CHAT_LOGIN_RATE_PER_MIN: '0',
      CHAT_UPGRADE_RATE_PER_MIN: '0',
    }),
    readyPath: '/healthz',
    wsPath: (after) => (after === undefined ? '/ws' : `/ws?after=${after}`),
    messageFrame: chatMessage,
  },
};
