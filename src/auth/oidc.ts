/**
 * @module auth/oidc
 * OpenID Connect login for the chat node, transport-free: discovery, the browser's authorization code
 * flow (PKCE S256 + state + nonce) and the device flow brokered for the console client, on
 * `openid-client` v6. Returns an identity (issuer, subject, display name); making a session of it is
 * the caller's job. The pending state of a login travels in an encrypted cookie (see `oidc-seal.ts`).
 */
import { timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import type { Logger } from 'pino';
import { createDeviceBroker, type DevicePoll, type DeviceStart } from './device.ts';
import { OidcError, type OidcErrorCode } from './oidc-errors.ts';
import { chooseDisplayName, type Claims } from './oidc-names.ts';
import { Sealer, UsedTokens, type SealSecret } from './oidc-seal.ts';

export { OidcError, isOidcError, type OidcErrorCode } from './oidc-errors.ts';
export type { DevicePoll, DeviceStart } from './device.ts';

/** Lifetime of a pending browser login (the flow cookie and its sealed contents). */
export const LOGIN_FLOW_TTL_SECONDS = 600;
/** Suggested cookie for the pending login: the node sets it on `/auth/login`, reads it on the callback. */
export const FLOW_COOKIE = { name: 'oidc_flow', path: '/auth/callback', maxAgeSeconds: LOGIN_FLOW_TTL_SECONDS } as const;

const LOGIN_PURPOSE = 'actor-chat:oidc-login';
const DEFAULT_SCOPES = 'openid email profile';

export interface OidcOptions {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  /** The node's callback, `${CHAT_PUBLIC_URL}/auth/callback`, registered at the issuer. */
  redirectUri: string;
  /** Claim that gives the display name; default `email`. */
  nameClaim?: string;
  /** Default `openid email profile`. */
  scopes?: string;
  /** Key material for the flow cookie and device handles; the first seals, all unseal (rotation). */
  sealSecret: SealSecret | readonly SealSecret[];
  /**
   * A separate client for the device flow, where the issuer needs one (Google: a "TVs and Limited Input
   * devices" client; its web client is refused at the device endpoint). Default: the main client.
   */
  deviceClient?: { clientId: string; clientSecret: string };
  /** How the node authenticates at the token endpoint; default `client_secret_basic`. */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Timeout of each request to the issuer, seconds; default 10. */
  timeoutSeconds?: number;
  logger?: Logger;
}

export interface OidcIdentity {
  /** The issuer identifier; with `subject` it is the identity. */
  issuer: string;
  subject: string;
  /** Display name, valid under the user-name rule. */
  name: string;
  /** Which claim gave the name (`email`, `preferred_username`, `sub`, `sub-hash`). */
  nameFrom: string;
}

export interface LoginStart {
  /** Where to redirect the browser (the issuer's authorization endpoint with all parameters). */
  redirectTo: string;
  /** Value of the flow cookie (see `FLOW_COOKIE`): sealed code_verifier, state and nonce. */
  flowCookie: string;
}

export interface Oidc {
  readonly issuer: string;
  readonly deviceFlowSupported: boolean;
  startLogin(): Promise<LoginStart>;
  /**
   * Validates the callback (`callback` is the URL the browser hit, or just its query) against the
   * flow cookie and the issuer, and returns the identity. Each flow cookie works once.
   */
  finishLogin(callback: URL | URLSearchParams, flowCookie: string | undefined): Promise<OidcIdentity>;
  startDevice(): Promise<DeviceStart>;
  pollDevice(handle: string): Promise<DevicePoll>;
}

interface LoginFlow {
  v: string; // PKCE code_verifier
  s: string; // state
  n: string; // nonce
}

/** What identity needs of a token response: the access token, for UserInfo. */
export type TokensForIdentity = Pick<client.TokenEndpointResponse, 'access_token'>;

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** What the login functions share, built once by `createOidc`. */
interface LoginContext {
  options: OidcOptions;
  config: client.Configuration;
  sealer: Sealer;
  usedFlows: UsedTokens;
  scopes: string;
  identify: (config: client.Configuration, tokens: TokensForIdentity, claims: Claims) => Promise<OidcIdentity>;
  log: Logger | undefined;
}

export async function createOidc(options: OidcOptions): Promise<Oidc> {
  const log = options.logger?.child({ component: 'oidc' });
  const config = await discover(options);
  const issuer = config.serverMetadata().issuer;
  const nameClaim = options.nameClaim ?? 'email';
  const sealer = new Sealer(options.sealSecret);
  const scopes = options.scopes ?? DEFAULT_SCOPES;

  const identify = async (used: client.Configuration, tokens: TokensForIdentity, claims: Claims): Promise<OidcIdentity> => {
    const merged = await withUserInfo(used, tokens, claims, nameClaim);
    const choice = chooseDisplayName(merged, nameClaim, issuer);
    return { issuer, subject: String(claims['sub']), name: choice.name, nameFrom: choice.from };
  };
  const ctx: LoginContext = { options, config, sealer, usedFlows: new UsedTokens(), scopes, identify, log };

  const deviceConfig = options.deviceClient ? clientConfig(options, config.serverMetadata(), options.deviceClient) : config;
  const device = createDeviceBroker({
    config: deviceConfig,
    sealer,
    scopes,
    identify: (tokens, claims) => identify(deviceConfig, tokens, claims),
    mapError: toOidcError,
    logger: log,
  });

  return {
    issuer,
    deviceFlowSupported: device.supported,
    startLogin: () => startLogin(ctx),
    finishLogin: (callback, flowCookie) => finishLogin(ctx, callback, flowCookie),
    startDevice: () => device.start(),
    pollDevice: (handle) => device.poll(handle),
  };
}

async function startLogin(ctx: LoginContext): Promise<LoginStart> {
  const flow: LoginFlow = { v: client.randomPKCECodeVerifier(), s: client.randomState(), n: client.randomNonce() };
  const redirectTo = client.buildAuthorizationUrl(ctx.config, {
    redirect_uri: ctx.options.redirectUri,
    scope: ctx.scopes,
    code_challenge: await client.calculatePKCECodeChallenge(flow.v),
    code_challenge_method: 'S256',
    state: flow.s,
    nonce: flow.n,
  });
  const flowCookie = await ctx.sealer.seal(LOGIN_PURPOSE, flow, LOGIN_FLOW_TTL_SECONDS);
  return { redirectTo: redirectTo.href, flowCookie };
}

async function finishLogin(ctx: LoginContext, callback: URL | URLSearchParams, flowCookie: string | undefined): Promise<OidcIdentity> {
  try {
    const params = callback instanceof URL ? callback.searchParams : callback;
    const flow = await openFlow(ctx.sealer, ctx.usedFlows, params, flowCookie);
    // Rebuilt from configuration: behind a proxy the node does not see the public URL it was called at.
    const currentUrl = new URL(ctx.options.redirectUri);
    currentUrl.search = params.toString();
    const tokens = await client.authorizationCodeGrant(ctx.config, currentUrl, {
      pkceCodeVerifier: flow.v,
      expectedState: flow.s,
      expectedNonce: flow.n,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new OidcError('oidc_callback_failed', 'the issuer returned no ID token');
    const identity = await ctx.identify(ctx.config, tokens, claims);
    ctx.log?.info({ sub: identity.subject, name: identity.name, nameFrom: identity.nameFrom }, 'oidc login');
    return identity;
  } catch (err) {
    const mapped = toOidcError(err, 'oidc_callback_failed');
    ctx.log?.warn({ code: mapped.code, reason: mapped.message }, 'oidc login refused');
    throw mapped;
  }
}

function isInsecure(issuer: URL): boolean {
  if (issuer.protocol !== 'http:') return false;
  if (!LOOPBACK.has(issuer.hostname)) {
    throw new OidcError('oidc_insecure_issuer', `issuer ${issuer.href} must use https (http is allowed on loopback only)`);
  }
  return true;
}

function clientAuth(options: OidcOptions, secret: string): client.ClientAuth {
  return options.tokenEndpointAuthMethod === 'client_secret_post' ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
}

/** Applies what every client configuration gets: loopback http, timeout, ID token signature checks. */
function harden(options: OidcOptions, config: client.Configuration): client.Configuration {
  if (isInsecure(options.issuer)) client.allowInsecureRequests(config);
  config.timeout = options.timeoutSeconds ?? 10;
  // Verify ID token signatures against the issuer's JWKS too, not only TLS to the token endpoint.
  client.enableNonRepudiationChecks(config);
  return config;
}

/** A second client at the same issuer, from the metadata already discovered. */
function clientConfig(options: OidcOptions, metadata: client.ServerMetadata, credentials: { clientId: string; clientSecret: string }): client.Configuration {
  const config = new client.Configuration(metadata, credentials.clientId, {}, clientAuth(options, credentials.clientSecret));
  return harden(options, config);
}

async function discover(options: OidcOptions): Promise<client.Configuration> {
  const insecure = isInsecure(options.issuer);
  try {
    const config = await client.discovery(
      options.issuer,
      options.clientId,
      { redirect_uris: [options.redirectUri], response_types: ['code'] },
      clientAuth(options, options.clientSecret),
      { execute: insecure ? [client.allowInsecureRequests] : [], timeout: options.timeoutSeconds ?? 10 },
    );
    return harden(options, config);
  } catch (err) {
    throw new OidcError('oidc_discovery_failed', `discovery at ${options.issuer.href} failed: ${describe(err)}`, { cause: err });
  }
}

/** Decrypts the flow cookie, checks the state and marks the flow used, in that order. */
async function openFlow(
  sealer: Sealer,
  used: UsedTokens,
  params: URLSearchParams,
  flowCookie: string | undefined,
): Promise<LoginFlow> {
  if (!flowCookie) throw new OidcError('oidc_flow_missing', 'no login in progress in this browser (flow cookie missing)');
  const sealed = await sealer.unseal<LoginFlow>(LOGIN_PURPOSE, flowCookie, {
    invalid: 'oidc_flow_invalid',
    expired: 'oidc_flow_expired',
  });
  const state = params.get('state');
  if (state === null || !sameString(state, sealed.data.s)) {
    throw new OidcError('oidc_state_mismatch', 'the callback state does not match this browser\'s login');
  }
  if (!used.use(sealed.jti, sealed.expiresAt)) {
    throw new OidcError('oidc_flow_replayed', 'this login was already completed; start again');
  }
  const error = params.get('error');
  if (error !== null) {
    const code: OidcErrorCode = error === 'access_denied' ? 'oidc_access_denied' : 'oidc_callback_failed';
    throw new OidcError(code, `the issuer answered ${error}: ${params.get('error_description') ?? ''}`.trim());
  }
  return sealed.data;
}

/** Adds UserInfo claims when the ID token lacks the name claim (issuers that keep profile claims there). */
async function withUserInfo(config: client.Configuration, tokens: TokensForIdentity, claims: Claims, nameClaim: string): Promise<Claims> {
  if (claims[nameClaim] !== undefined || !tokens.access_token || !config.serverMetadata().userinfo_endpoint) return claims;
  const info = await client.fetchUserInfo(config, tokens.access_token, String(claims['sub']));
  return { ...info, ...claims };
}

function sameString(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Maps anything thrown by openid-client, fetch or our own checks to an `OidcError`. */
export function toOidcError(err: unknown, fallback: OidcErrorCode): OidcError {
  if (err instanceof OidcError) return err;
  if (err instanceof client.ResponseBodyError || err instanceof client.AuthorizationResponseError) {
    const code = err.error === 'access_denied' ? 'oidc_access_denied' : fallback;
    return new OidcError(code, `the issuer answered ${err.error}: ${err.error_description ?? ''}`.trim(), { cause: err });
  }
  if (err instanceof client.ClientError && isNonceFailure(err)) {
    return new OidcError('oidc_nonce_mismatch', 'the ID token nonce does not match this browser\'s login', { cause: err });
  }
  if (isNetworkFailure(err)) {
    return new OidcError('oidc_idp_unavailable', `the issuer did not answer: ${describe(err)}`, { cause: err });
  }
  return new OidcError(fallback, describe(err), { cause: err });
}

function isNonceFailure(err: client.ClientError): boolean {
  const inner: unknown = err.cause;
  if (err.code !== 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' || !(inner instanceof Error)) return false;
  const detail: unknown = inner.cause;
  return typeof detail === 'object' && detail !== null && (detail as { claim?: unknown }).claim === 'nonce';
}

function isNetworkFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (err instanceof TypeError && err.message === 'fetch failed') || err.name === 'TimeoutError' || err.name === 'AbortError';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
