/**
 * @module auth/device
 * OAuth 2.0 device authorization (RFC 8628) brokered by the node for the console client: the node holds
 * the client secret and talks to the issuer; the client gets an opaque sealed handle and polls the node,
 * one token request per poll (no waiting inside), paced at the issuer's interval.
 */
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { OidcError, type OidcErrorCode } from './oidc-errors.ts';
import type { Claims } from './oidc-names.ts';
import type { OidcIdentity, TokensForIdentity } from './oidc.ts';
import { Sealer, UsedTokens } from './oidc-seal.ts';
import type { DeviceStart } from '../protocol/device-login.ts';

const DEVICE_PURPOSE = 'actor-chat:oidc-device';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** The handle outlives the issuer's `expires_in` a little, so the issuer stays the one that says "expired". */
const HANDLE_GRACE_SECONDS = 30;
const SLOW_DOWN_STEP_SECONDS = 5;

export type { DeviceStart } from '../protocol/device-login.ts';

export type DevicePoll =
  | { status: 'pending'; interval: number }
  | { status: 'slow_down'; interval: number }
  | { status: 'denied' }
  | { status: 'expired' }
  | { status: 'ok'; identity: OidcIdentity };

interface DeviceHandle {
  dc: string; // device_code
  i: number; // interval, seconds
}

type TokenResponse = Awaited<ReturnType<typeof client.genericGrantRequest>>;

export interface DeviceBrokerDeps {
  config: client.Configuration;
  sealer: Sealer;
  scopes: string;
  identify: (tokens: TokensForIdentity, claims: Claims) => Promise<OidcIdentity>;
  mapError: (err: unknown, fallback: OidcErrorCode) => OidcError;
  logger: Logger | undefined;
}

export interface DeviceBroker {
  readonly supported: boolean;
  start(): Promise<DeviceStart>;
  poll(handle: string): Promise<DevicePoll>;
}

/** When each handle may next be polled; bounded, oldest first out. */
class PollPacer {
  readonly #next = new Map<string, { at: number; interval: number }>();
  readonly #max: number;

  constructor(max = 10_000) {
    this.#max = max;
  }

  /** The interval to report if this poll is too early, else undefined (and the poll is recorded). */
  tooEarly(jti: string, interval: number, now: number): number | undefined {
    const entry = this.#next.get(jti);
    if (entry && now < entry.at) {
      entry.interval += SLOW_DOWN_STEP_SECONDS;
      entry.at = now + entry.interval * 1000;
      return entry.interval;
    }
    this.#set(jti, now, entry?.interval ?? interval);
    return undefined;
  }

  slowDown(jti: string, now: number): number {
    const interval = (this.#next.get(jti)?.interval ?? 0) + SLOW_DOWN_STEP_SECONDS;
    this.#set(jti, now, interval);
    return interval;
  }

  interval(jti: string, fallback: number): number {
    return this.#next.get(jti)?.interval ?? fallback;
  }

  forget(jti: string): void {
    this.#next.delete(jti);
  }

  #set(jti: string, now: number, interval: number): void {
    this.#next.delete(jti);
    for (const key of this.#next.keys()) {
      if (this.#next.size < this.#max) break;
      this.#next.delete(key);
    }
    this.#next.set(jti, { at: now + interval * 1000, interval });
  }
}

/**
 * Google answers the device authorization request with `verification_url`, not RFC 8628's
 * `verification_uri`, which openid-client rightly refuses; rename it on that one endpoint's answers.
 */
function acceptVerificationUrl(config: client.Configuration, endpoint: string): void {
  config[client.customFetch] = async (url, options) => {
    const response = await fetch(url, options);
    if (url !== endpoint || !response.ok || !response.headers.get('content-type')?.includes('json')) return response;
    const body: unknown = await response.json();
    if (typeof body !== 'object' || body === null) throw new OidcError('oidc_device_failed', 'the device authorization answer is not a JSON object');
    const fields = body as Record<string, unknown>;
    if (fields['verification_uri'] === undefined && typeof fields['verification_url'] === 'string') {
      fields['verification_uri'] = fields['verification_url'];
    }
    return new Response(JSON.stringify(fields), { status: response.status, headers: { 'content-type': 'application/json' } });
  };
}

export function createDeviceBroker(deps: DeviceBrokerDeps): DeviceBroker {
  const { config, sealer, logger: log } = deps;
  const endpoint = config.serverMetadata().device_authorization_endpoint;
  const supported = typeof endpoint === 'string';
  if (supported) acceptVerificationUrl(config, endpoint);
  const used = new UsedTokens();
  const pacer = new PollPacer();

  const unsupported = (): OidcError =>
    new OidcError('device_flow_unsupported', `issuer ${config.serverMetadata().issuer} does not offer device login`);

  const start = async (): Promise<DeviceStart> => {
    if (!supported) throw unsupported();
    let response: client.DeviceAuthorizationResponse;
    try {
      response = await client.initiateDeviceAuthorization(config, { scope: deps.scopes });
    } catch (err) {
      throw deps.mapError(err, 'oidc_device_failed');
    }
    const interval = response.interval ?? 5;
    const data: DeviceHandle = { dc: response.device_code, i: interval };
    const handle = await sealer.seal(DEVICE_PURPOSE, data, response.expires_in + HANDLE_GRACE_SECONDS);
    return {
      handle,
      userCode: response.user_code,
      verificationUri: response.verification_uri,
      ...(response.verification_uri_complete ? { verificationUriComplete: response.verification_uri_complete } : {}),
      expiresIn: response.expires_in,
      interval,
    };
  };

  const exchange = async (jti: string, expiresAt: number, data: DeviceHandle): Promise<DevicePoll> => {
    let tokens: TokenResponse;
    try {
      tokens = await client.genericGrantRequest(config, DEVICE_GRANT, { device_code: data.dc });
    } catch (err) {
      return pollFailure(err, jti);
    }
    if (!used.use(jti, expiresAt)) throw new OidcError('device_handle_used', 'this device login already produced a session');
    pacer.forget(jti);
    const claims = tokens.claims() ?? (await userInfoClaims(config, tokens));
    const identity = await deps.identify(tokens, claims);
    log?.info({ sub: identity.subject, name: identity.name, nameFrom: identity.nameFrom }, 'oidc device login');
    return { status: 'ok', identity };
  };

  const pollFailure = (err: unknown, jti: string): DevicePoll => {
    if (!(err instanceof client.ResponseBodyError)) throw deps.mapError(err, 'oidc_device_failed');
    switch (err.error) {
      case 'authorization_pending':
        return { status: 'pending', interval: pacer.interval(jti, 5) };
      case 'slow_down':
        return { status: 'slow_down', interval: pacer.slowDown(jti, Date.now()) };
      case 'access_denied':
        pacer.forget(jti);
        return { status: 'denied' };
      case 'expired_token':
      case 'invalid_grant': // the issuer no longer knows the device code: expired and purged, or used
        pacer.forget(jti);
        log?.debug({ error: err.error }, 'oidc device code expired');
        return { status: 'expired' };
      default:
        throw deps.mapError(err, 'oidc_device_failed');
    }
  };

  const poll = async (handle: string): Promise<DevicePoll> => {
    if (!supported) throw unsupported();
    let sealed;
    try {
      sealed = await sealer.unseal<DeviceHandle>(DEVICE_PURPOSE, handle, {
        invalid: 'device_handle_invalid',
        expired: 'oidc_flow_expired',
      });
    } catch (err) {
      if (err instanceof OidcError && err.code === 'oidc_flow_expired') return { status: 'expired' };
      throw err;
    }
    if (used.has(sealed.jti)) throw new OidcError('device_handle_used', 'this device login already produced a session');
    const early = pacer.tooEarly(sealed.jti, sealed.data.i, Date.now());
    if (early !== undefined) return { status: 'slow_down', interval: early };
    return exchange(sealed.jti, sealed.expiresAt, sealed.data);
  };

  return {
    supported,
    start,
    async poll(handle) {
      try {
        return await poll(handle);
      } catch (err) {
        const mapped = deps.mapError(err, 'oidc_device_failed');
        log?.warn({ code: mapped.code, reason: mapped.message }, 'oidc device poll refused');
        throw mapped;
      }
    },
  };
}

/** Issuers that return no ID token for the device grant: the identity comes from UserInfo. */
async function userInfoClaims(config: client.Configuration, tokens: TokenResponse): Promise<Claims> {
  if (!config.serverMetadata().userinfo_endpoint) {
    throw new OidcError('oidc_device_failed', 'the issuer returned no ID token and has no UserInfo endpoint');
  }
  return client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck);
}
