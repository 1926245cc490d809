/** The node's HTTP routes the client needs: dev login and logout, with errors a caller can act on. */
import type { LoginAnswer } from '../protocol/device-login.ts';
import { errorBodyOf, parseJsonObject, type JsonObject } from '../protocol/json.ts';

/** A session as the node's login answers it (protocol/device-login.ts). */
export type Session = LoginAnswer;

/** The node answered with an error status (`code` from its JSON error body when it sent one). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** 5xx and 429 may pass; other refusals will not change by retrying. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

/** The node could not be reached at all (refused, reset, DNS, timeout). */
export class UnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`cannot reach ${url}: ${reason}`, options);
    this.name = 'UnreachableError';
  }
}

const TIMEOUT_MS = 10_000;

export async function login(baseUrl: string, user: string): Promise<Session> {
  const body = await requestJson(`${baseUrl}/login/${encodeURIComponent(user)}`, {});
  return body as unknown as Session;
}

export async function logout(baseUrl: string, session: Session): Promise<void> {
  await requestJson(`${baseUrl}/logout/${encodeURIComponent(session.user)}`, { headers: { authorization: `Bearer ${session.token}` } });
}

export interface RequestOptions {
  timeoutMs?: number;
  /** A 2xx answer without a JSON object is an HttpError too. */
  requireBody?: boolean;
}

/**
 * One request to the node: the JSON object it answered (undefined when the body is none), or an
 * HttpError (error status: code and message from the node's error body when it sent one, else the
 * status line), or an UnreachableError.
 */
export async function requestJson(url: string, init: RequestInit, options: RequestOptions = {}): Promise<JsonObject | undefined> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(options.timeoutMs ?? TIMEOUT_MS) });
  } catch (error) {
    throw new UnreachableError(new URL(url).origin, networkReason(error), { cause: error });
  }
  const text = await response.text();
  // Not a JSON object (a proxy's HTML page, say): the status line is what there is to report.
  const parsed = parseJsonObject(text);
  const body = parsed.ok ? parsed.value : undefined;
  if (response.ok && (body !== undefined || !options.requireBody)) return body;
  const detail = errorBodyOf(text);
  throw new HttpError(response.status, detail.code ?? `http_${response.status}`, detail.message ?? (text.slice(0, 200) || response.statusText));
}

/** `ECONNREFUSED` rather than fetch's bare "fetch failed". */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
