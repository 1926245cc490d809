/**
 * The servers under test and how to drive each: how to start it, where its WebSocket lives, and how
 * a chat message is framed for it. Everything else in the scenarios is the same for all. Two dialects:
 * plain JSON frames on `/ws` (bare uWS, actor-chat) and Socket.IO (Socket.IO on Node's http, Socket.IO
 * on bare uWS, actor-chat's Socket.IO surface).
 */
import { readFileSync } from 'node:fs';

export type TargetId = 'bare-uws' | 'socketio' | 'socketio-uws' | 'actor-chat' | 'actor-chat-sio' | 'actor-chat-redis';
export type PresenceMode = 'all' | 'watch';

export interface Target {
  id: TargetId;
  label: string;
  /** Engine.IO/Socket.IO framing on the socket */
  eio: boolean;
  /** actor-chat's own code (`src/main.ts`): gets the node's overrides, `--actor-ref`, `--actor-flags`, `--profile` */
  actor: boolean;
  /** `redis`: the node runs with `CHAT_ENGINE` on a redis-server the runner starts for it (`--engine=redis`) */
  engine?: 'redis';
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

function socketIoMessage(text: string, cid: string): string {
  return `42${JSON.stringify(['message', { type: 'message', text, cid }])}`;
}

function socketIoPath(after?: number): string {
  return `/socket.io/?EIO=4&transport=websocket${after === undefined ? '' : `&after=${after}`}`;
}

function actorEnv(port: number, presence: PresenceMode): Record<string, string> {
  return {
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
  };
}

function actorArgs(profileDir: string | undefined): string[] {
  return [...startFlags(), ...profileArgs(profileDir), '--import', 'tsx', 'src/main.ts'];
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
    actor: false,
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
    actor: false,
    nodeArgs: (profileDir) => [...profileArgs(profileDir), '--import', 'tsx', 'bench/servers/socketio.ts'],
    env: (port) => ({ BENCH_HOST: '127.0.0.1', BENCH_PORT: String(port) }),
    readyPath: '/healthz',
    wsPath: socketIoPath,
    messageFrame: socketIoMessage,
  },
  'socketio-uws': {
    id: 'socketio-uws',
    label: 'Socket.IO 4.8 on bare uWS',
    eio: true,
    actor: false,
    nodeArgs: (profileDir) => [...profileArgs(profileDir), '--import', 'tsx', 'bench/servers/socketio-uws.ts'],
    env: (port) => ({ BENCH_HOST: '127.0.0.1', BENCH_PORT: String(port) }),
    readyPath: '/healthz',
    wsPath: socketIoPath,
    messageFrame: socketIoMessage,
  },
  'actor-chat': {
    id: 'actor-chat',
    label: 'actor-chat',
    eio: false,
    actor: true,
    nodeArgs: actorArgs,
    env: actorEnv,
    readyPath: '/healthz',
    wsPath: (after) => (after === undefined ? '/ws' : `/ws?after=${after}`),
    messageFrame: chatMessage,
  },
  'actor-chat-sio': {
    id: 'actor-chat-sio',
    label: 'actor-chat (Socket.IO)',
    eio: true,
    actor: true,
    nodeArgs: actorArgs,
    env: actorEnv,
    readyPath: '/healthz',
    wsPath: socketIoPath,
    messageFrame: socketIoMessage,
  },
  'actor-chat-redis': {
    id: 'actor-chat-redis',
    label: 'actor-chat on Redis',
    eio: false,
    actor: true,
    engine: 'redis',
    nodeArgs: actorArgs,
    env: actorEnv,
    // Ready means caught up with the shared log (docs/engine.md); /healthz answers before that.
    readyPath: '/readyz',
    wsPath: (after) => (after === undefined ? '/ws' : `/ws?after=${after}`),
    messageFrame: chatMessage,
  },
};
