/** Command-line flags of the console client, parsed with node's util.parseArgs. */
import { parseArgs } from 'node:util';
import type { ClientOptions } from './client.ts';

export const USAGE = `Usage: actor-chat-client [--url <node url>] [--user <name> | --device]

Chat from a terminal or a script. Lines typed (or piped in) go to everyone;
/dm <user> <text> goes to one user; /users lists who is online; /history [user]
shows older messages; /help shows the commands; x alone on a line (or end of
input) logs out and exits.

Options:
  --url <url>              the node (default http://127.0.0.1:5000)
  --user <name>            log in as <name> (asked for when missing)
  --device                 log in with your OpenID account: enter the printed code in any browser
  --history <n>            group messages printed on connecting, and per /history (default 20,
                           0: none on connecting; at most 200)
  --reconnect-min-ms <ms>  first reconnect delay ceiling (default 250)
  --reconnect-max-ms <ms>  longest reconnect delay (default 30000)
  --stable-ms <ms>         a connection up this long resets the backoff (default 10000)
  -h, --help               this help

Exit codes: 0 logged out, 1 failure, 2 bad usage or user name, 3 session ended by the node.`;

export type ParsedArgs = { help: true } | { help: false; options: ClientOptions };

/** Throws an Error with a usage-worthy message on unknown flags or bad numbers. */
export function parseClientArgs(argv: string[]): ParsedArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:5000' },
      user: { type: 'string' },
      device: { type: 'boolean', default: false },
      history: { type: 'string', default: '20' },
      'reconnect-min-ms': { type: 'string', default: '250' },
      'reconnect-max-ms': { type: 'string', default: '30000' },
      'stable-ms': { type: 'string', default: '10000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true };
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  const minMs = milliseconds(values['reconnect-min-ms'], '--reconnect-min-ms');
  const maxMs = milliseconds(values['reconnect-max-ms'], '--reconnect-max-ms');
  if (maxMs < minMs) throw new Error('--reconnect-max-ms must not be below --reconnect-min-ms');
  if (values.device && values.user !== undefined) throw new Error('--device and --user exclude each other: the name comes from your account');
  return {
    help: false,
    options: {
      url: nodeUrl(values.url),
      user: values.user,
      ...(values.device ? { device: true } : {}),
      history: historyCount(values.history),
      backoff: { minMs, maxMs },
      stableMs: milliseconds(values['stable-ms'], '--stable-ms'),
      keepaliveMs: 25_000,
    },
  };
}

/** The node serves at most 200 messages a page (docs/protocol.md "Scrollback"). */
const MAX_HISTORY = 200;

function historyCount(raw: string): number {
  if (!/^\d{1,3}$/.test(raw) || Number(raw) > MAX_HISTORY) throw new Error(`--history must be a whole number from 0 to ${MAX_HISTORY}, got "${raw}"`);
  return Number(raw);
}

function milliseconds(raw: string, flag: string): number {
  if (!/^\d{1,9}$/.test(raw)) throw new Error(`${flag} must be a whole number of milliseconds, got "${raw}"`);
  return Number(raw);
}

/** Validates the node URL and drops a trailing slash, so paths can be appended. */
function nodeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new Error(`--url must be an http(s) URL, got "${raw}"`, { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--url must be an http(s) URL, got "${raw}"`);
  return url.href.replace(/\/+$/, '');
}
