/**
 * @module protocol/device-login
 * The device login's answer to `POST /auth/device` (the node's auth routes, the console client).
 */

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
