/** The node's HTTP routes the client needs: dev login and logout, with errors a caller can act on. */

export interface Session {
  user: string;
  token: string;
  expiresAt: number;
}

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
  const body = await getJson(`${baseUrl}/login/${encodeURIComponent(user)}`, {});
  return body as Session;
}

export async function logout(baseUrl: string, session: Session): Promise<void> {
  await getJson(`${baseUrl}/logout/${encodeURIComponent(session.user)}`, { authorization: `Bearer ${session.token}` });
}

async function getJson(url: string, headers: Record<string, string>): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new UnreachableError(new URL(url).origin, networkReason(error), { cause: error });
  }
  const text = await response.text();
  const body = parseBody(text);
  if (response.ok) return body;
  const detail = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof detail?.code === 'string' ? detail.code : `http_${response.status}`;
  const message = typeof detail?.message === 'string' ? detail.message : text.slice(0, 200) || response.statusText;
  throw new HttpError(response.status, code, message);
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON (a proxy's HTML page, say): callers fall back to the status line.
    return undefined;
  }
}

/** `ECONNREFUSED` rather than fetch's bare "fetch failed". */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (error instanceof Error && error.name === 'TimeoutError') return 'timed out';
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}
