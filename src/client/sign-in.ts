/**
 * @module client/sign-in
 * How the console client gets a session: by name (retrying with backoff while the node is
 * unreachable or answers a retryable error) or through the node's OpenID Connect device login.
 * Each way prints its own failure and answers a session or the exit code to stop with.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff, type BackoffOptions, formatDelay } from '../protocol/backoff.ts';
import { DeviceLoginError, deviceLogin } from './device-login.ts';
import { Exit } from './exit.ts';
import { HttpError, type Session, UnreachableError, login } from './http.ts';
import type { Terminal } from './terminal.ts';

/** Device login (src/client/device-login.ts): prints where to enter the code, waits for approval. */
export async function deviceSession(url: string, terminal: Terminal): Promise<Session | number> {
  try {
    return await deviceLogin({ url, print: (line) => terminal.print(line) });
  } catch (error) {
    if (!(error instanceof DeviceLoginError || error instanceof HttpError || error instanceof UnreachableError)) throw error;
    terminal.fail(`actor-chat-client: device login failed: ${error.message}`);
    return Exit.Failure;
  }
}

export async function loginUntilReachable(url: string, backoffOptions: BackoffOptions, terminal: Terminal, user: string): Promise<Session | number> {
  const backoff = new Backoff(backoffOptions);
  for (;;) {
    try {
      return await login(url, user);
    } catch (error) {
      if (error instanceof HttpError && error.code === 'invalid_username') {
        terminal.fail(`actor-chat-client: invalid user name "${user}": ${error.message}`);
        return Exit.Usage;
      }
      if (error instanceof HttpError && !error.retryable) {
        terminal.fail(`actor-chat-client: login refused: ${error.code}: ${error.message}`);
        return Exit.Failure;
      }
      if (!(error instanceof HttpError || error instanceof UnreachableError)) throw error;
      const delay = backoff.next();
      const why = error instanceof HttpError ? `login failed (${error.status} ${error.code})` : error.message;
      terminal.print(`* ${why}; retrying in ${formatDelay(delay)}`);
      await sleep(delay);
    }
  }
}
