/**
 * The HTTP side of the node, as the page uses it: dev login, logout, the auth config (is OpenID
 * Connect on?) and a cheap "is my session still valid?" probe. All same-origin, cookies included.
 */
import { errorBodyOf } from '../../src/protocol/json.ts';

export interface Session {
  user: string;
  /** Bearer token from the dev login JSON; absent after an OpenID login (cookie only). */
  token?: string;
  expiresAt?: number | string;
}

export interface AuthConfig {
  oidc: boolean;
  devLogin: boolean;
  /** Label for the OpenID button, e.g. "Google", when the node names its provider. */
  oidcLabel?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  // A body that is not JSON (a proxy's HTML error page, say) still gets a readable error below.
  const { code, message } = errorBodyOf(await res.text().catch(() => ''));
  if (code !== undefined && message !== undefined) return new ApiError(res.status, code, message);
  return new ApiError(res.status, `http_${res.status}`, `The server answered ${res.status} ${res.statusText}`.trim());
}

export async function login(name: string): Promise<Session> {
  const res = await fetch(`/login/${encodeURIComponent(name)}`, { credentials: 'same-origin' });
  if (!res.ok) throw await errorOf(res);
  const body = (await res.json()) as { user?: unknown; token?: unknown; expiresAt?: unknown };
  if (typeof body.user !== 'string') throw new ApiError(res.status, 'bad_response', 'Unexpected login answer');
  const session: Session = { user: body.user };
  if (typeof body.token === 'string') session.token = body.token;
  if (typeof body.expiresAt === 'number' || typeof body.expiresAt === 'string') session.expiresAt = body.expiresAt;
  return session;
}

export async function logout(session: Session): Promise<void> {
  const headers: Record<string, string> = {};
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  const res = await fetch(`/logout/${encodeURIComponent(session.user)}`, { credentials: 'same-origin', headers });
  // 401: the session had already ended; for the person at the keyboard that is a successful logout.
  if (!res.ok && res.status !== 401) throw await errorOf(res);
}

/** GET /auth/config; a node without that route (404) is a dev node: dev login only. */
export async function authConfig(): Promise<AuthConfig> {
  const res = await fetch('/auth/config', { credentials: 'same-origin' });
  if (res.status === 404) return { oidc: false, devLogin: true };
  if (!res.ok) throw await errorOf(res);
  const body = (await res.json()) as Record<string, unknown>;
  const oidc = body.oidc;
  const enabled = oidc === true || (typeof oidc === 'object' && oidc !== null && (oidc as { enabled?: unknown }).enabled === true);
  const config: AuthConfig = { oidc: enabled, devLogin: body.devLogin !== false };
  const label = typeof oidc === 'object' && oidc !== null ? (oidc as { label?: unknown }).label : body.oidcLabel;
  if (typeof label === 'string' && label !== '') config.oidcLabel = label;
  return config;
}

/** True when the session cookie is still accepted (used at page load and after a refused upgrade). */
export async function sessionIsValid(): Promise<boolean> {
  const res = await fetch('/list-users?limit=1', { credentials: 'same-origin' });
  if (res.status === 401 || res.status === 403) return false;
  if (!res.ok) throw await errorOf(res);
  return true;
}
