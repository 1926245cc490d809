/**
 * Device login for the console client (RFC 8628, brokered by the node: the client never holds the OIDC
 * client secret). Asks the node to start (`POST /auth/device`), prints the verification URL and the user
 * code, polls `POST /auth/device/poll` at the interval the node gives (longer after `slow_down`), and ends
 * with a session or a clear reason: denied, expired, or no device login on this node.
 */
import type { DevicePollAnswer, DeviceStart } from '../protocol/device-login.ts';
import { setTimeout as delay } from 'node:timers/promises';
import { HttpError, type Session, UnreachableError, requestJson } from './http.ts';

export type DeviceLoginFailure = 'unsupported' | 'denied' | 'expired';

/** Device login ended without a session for a reason the user can act on. */
export class DeviceLoginError extends Error {
  constructor(
    readonly reason: DeviceLoginFailure,
    message: string,
  ) {
    super(message);
    this.name = 'DeviceLoginError';
  }
}

export interface DeviceLoginOptions {
  /** http(s)://host:port of the node. */
  url: string;
  /** Where the instructions go (the terminal). */
  print: (line: string) => void;
  /** Waits between polls; injected by tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Stops polling (Ctrl-C). */
  signal?: AbortSignal;
  /** How many times in a row an unreachable node or a 5xx/429 answer is tolerated while polling; default 5. */
  maxTransientFailures?: number;
}


type Poll = DevicePollAnswer;

const TIMEOUT_MS = 15_000;

/** Runs the whole device login; resolves with a session, rejects with DeviceLoginError, HttpError or UnreachableError. */
export async function deviceLogin(options: DeviceLoginOptions): Promise<Session> {
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, signal ? { signal } : {}));
  const started = await startDevice(options.url);
  options.print(instructions(started));
  let interval = started.interval;
  let failures = 0;
  const deadline = Date.now() + started.expiresIn * 1000;
  for (;;) {
    await sleep(interval * 1000, options.signal);
    let polled: Poll;
    try {
      polled = (await postJson(`${options.url}/auth/device/poll`, { handle: started.handle })) as Poll;
      failures = 0;
    } catch (error) {
      if (!isTransient(error) || ++failures > (options.maxTransientFailures ?? 5) || Date.now() > deadline) throw error;
      options.print(`* device login: ${describe(error)}; still waiting`);
      continue;
    }
    switch (polled.status) {
      case 'pending':
        interval = polled.interval;
        continue;
      case 'slow_down':
        interval = Math.max(polled.interval, interval + 5);
        continue;
      case 'denied':
        throw new DeviceLoginError('denied', 'device login was denied at the sign-in page; nothing was logged in');
      case 'expired':
        throw new DeviceLoginError('expired', `the code ${started.userCode} expired before it was approved; run the login again for a new code`);
      case 'ok':
        return { user: polled.user, token: polled.token, expiresAt: polled.expiresAt };
    }
  }
}

async function startDevice(url: string): Promise<DeviceStart> {
  try {
    return (await postJson(`${url}/auth/device`, {})) as DeviceStart;
  } catch (error) {
    if (error instanceof HttpError && (error.status === 404 || error.code === 'device_flow_unsupported')) {
      const why = error.status === 404 ? 'this node has no device login route' : error.message;
      throw new DeviceLoginError('unsupported', `this node or its identity provider offers no device login (${why}); log in in a browser, or with --user on a node with dev login`);
    }
    throw error;
  }
}

function instructions(started: DeviceStart): string {
  const minutes = Math.max(1, Math.round(started.expiresIn / 60));
  const lines = [`To log in, open ${started.verificationUri} in a browser and enter the code ${started.userCode}`];
  if (started.verificationUriComplete) lines.push(`  (or open ${started.verificationUriComplete}, which has the code in it)`);
  lines.push(`The code is valid for ${minutes} minute${minutes === 1 ? '' : 's'}; waiting for you to approve it…`);
  return lines.join('\n');
}

function isTransient(error: unknown): boolean {
  return error instanceof UnreachableError || (error instanceof HttpError && error.retryable);
}

function describe(error: unknown): string {
  if (error instanceof HttpError) return `the node answered ${error.status} ${error.code}`;
  return error instanceof Error ? error.message : String(error);
}

function postJson(url: string, body: unknown): Promise<unknown> {
  const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  return requestJson(url, init, { timeoutMs: TIMEOUT_MS, requireBody: true });
}
