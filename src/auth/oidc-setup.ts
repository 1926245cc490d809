/**
 * @module auth/oidc-setup
 * What `npm start` and the test node do before creating a node: make sure there is a session secret
 * (generating one when none is configured, so the session signer and the OIDC flow sealer share it) and,
 * when OpenID Connect is configured, discover the issuer (`createOidc`) so a bad issuer stops start-up.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { createOidc, type Oidc } from './oidc.ts';

export interface OidcSetup {
  /** The configuration to run with: the same, plus the generated secret when none was configured. */
  config: Readonly<Config>;
  /** Undefined when `CHAT_OIDC_ISSUER` is not set. */
  oidc: Oidc | undefined;
  /** True when no session secret was configured and one was generated (sessions end at restart). */
  generatedSecret: boolean;
}

/** The node's OIDC callback, registered at the issuer as the redirect URI. */
export function redirectUri(config: Readonly<Config>): string {
  return `${config.publicUrl}/auth/callback`;
}

export async function setUpOidc(config: Readonly<Config>, logger: Logger): Promise<OidcSetup> {
  const generatedSecret = config.session.secrets.length === 0;
  const secrets = generatedSecret ? [randomBytes(32).toString('base64url')] : config.session.secrets;
  const withSecrets: Readonly<Config> = Object.freeze({ ...config, session: Object.freeze({ ...config.session, secrets }) });
  if (!config.oidc) return { config: withSecrets, oidc: undefined, generatedSecret };
  const { issuer, clientId, clientSecret, nameClaim, scopes, deviceClient } = config.oidc;
  const oidc = await createOidc({
    issuer: new URL(issuer),
    clientId,
    clientSecret,
    redirectUri: redirectUri(config),
    nameClaim,
    scopes,
    sealSecret: secrets,
    ...(deviceClient ? { deviceClient } : {}),
    logger,
  });
  return { config: withSecrets, oidc, generatedSecret };
}
