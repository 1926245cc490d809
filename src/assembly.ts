/**
 * @module assembly
 * Everything a node needs before it can listen, in one place for `npm start` (src/main.ts) and the test
 * node: a session secret and, when configured, OpenID Connect discovery (`setUpOidc`), the `/auth/*`
 * routes, the built web client when its directory exists, then `createChatNode`.
 */
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Oidc } from './auth/oidc.ts';
import { setUpOidc } from './auth/oidc-setup.ts';
import { createAuthRoutes } from './http/auth-routes.ts';
import { createStaticSite, staticRoutes } from './http/static.ts';
import type { Route } from './transport/types.ts';
import { createChatNode, type ChatNode, type ChatNodeOptions } from './node.ts';

export interface AssemblyOptions extends Omit<ChatNodeOptions, 'extraRoutes'> {
  /**
   * Directory of the built web client (`web/dist`), served at `/`. When given but missing or empty, the node
   * serves the API only and says so; when not given (most tests), no site and no warning.
   */
  webRoot?: string;
}

export interface AssembledNode {
  node: ChatNode;
  /** Undefined when `CHAT_OIDC_ISSUER` is not set. */
  oidc: Oidc | undefined;
}

/**
 * Throws an `OidcError` (`isOidcError`) when the issuer cannot be discovered, and the journal's
 * `JournalCorruptError`/`JournalLockedError` when the journal cannot be opened: the caller decides the exit.
 */
export async function assembleChatNode(config: Readonly<Config>, logger: Logger, options: AssemblyOptions = {}): Promise<AssembledNode> {
  const { webRoot, ...nodeOptions } = options;
  const webRoutes = webRoot === undefined ? [] : webSite(webRoot, logger);
  // Before the node exists: discovery at the issuer must succeed, or the node does not start.
  const { config: nodeConfig, oidc, generatedSecret } = await setUpOidc(config, logger);
  const node = createChatNode(nodeConfig, logger, {
    ...nodeOptions,
    extraRoutes: (parts) => [...createAuthRoutes({ config: nodeConfig, ...parts, oidc }), ...webRoutes],
  });
  if (generatedSecret) {
    logger.warn('no CHAT_SESSION_SECRET configured: generated a signing key; sessions end when the node restarts');
  }
  if (oidc) logger.info({ issuer: oidc.issuer, deviceFlow: oidc.deviceFlowSupported }, 'OpenID Connect login at /auth/login');
  if (nodeConfig.devLogin) logger.warn('dev login is ON: anyone can log in as any name at /login/:username');
  return { node, oidc };
}

function webSite(webRoot: string, logger: Logger): Route[] {
  const site = createStaticSite(webRoot); // a missing directory is an empty site
  if (site.size > 0) return staticRoutes(site);
  logger.warn({ webRoot }, 'web client not built (npm run build): serving the API only');
  return [];
}
