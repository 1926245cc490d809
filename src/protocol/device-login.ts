/**
 * @module protocol/device-login
 * The login answers on the wire (the node's auth routes, the console client): `POST /auth/device`, its
 * polls, and the session a login hands out. Types only, no imports, so the browser build can use it too.
 */

/** A session as a login answers it (`POST /login`, a device login's last poll). */
export interface LoginAnswer {
  user: string;
  /** Bearer token for `/ws?token=` and `Authorization`. */
  token: string;
  /** When the token expires, in ms since the epoch. */
  expiresAt: number;
}

/** The answer to `POST /auth/device/poll` (200): keep waiting `interval` seconds, give up, or the session. */
export type DevicePollAnswer =
  | { status: 'pending' | 'slow_down'; interval: number }
  | { status: 'denied' | 'expired' }
  | ({ status: 'ok' } & LoginAnswer);

export interface DeviceStart {
  /** Opaque; the client sends it back to poll. Sealed: it carries the device_code, unreadable to the client. */
  handle: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  /** Seconds until the user code expires. */
  expiresIn: number;
  /** Seconds the client waits between polls. */
  interval: number;
}
