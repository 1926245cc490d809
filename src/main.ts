/**
 * @module main
 * `npm start`: reads the configuration, assembles and starts the node (src/assembly.ts), maps start-up
 * failures to exit codes, and stops the node cleanly on SIGINT/SIGTERM.
 */
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './config.ts';
import { isOidcError } from './auth/oidc.ts';
import { createLogger } from './logger.ts';
import { assembleChatNode } from './assembly.ts';
import { JournalCorruptError } from './journal/file.ts';
import { JournalLockedError } from './journal/lock.ts';

const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(withInspectFlag(process.env, process.argv.slice(2)), process.stdout.isTTY === true);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`actor-chat: bad configuration: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config);
  const webRoot = fileURLToPath(new URL('../web/dist', import.meta.url));
  let node;
  try {
    ({ node } = await assembleChatNode(config, logger, {
      webRoot,
      // Fail-stop: the node.ts handler has logged the error; exit before anything else is answered.
      onFatal: () => {
        logger.flush();
        process.exit(1);
      },
    }));
  } catch (error) {
    if (isOidcError(error)) {
      process.stderr.write(`actor-chat: OpenID Connect: ${error.code}: ${error.message}\n`);
      process.exit(1);
    }
    if (!(error instanceof JournalCorruptError || error instanceof JournalLockedError)) throw error;
    logger.fatal({ err: error, code: error.code, path: error.path }, error.message);
    logger.flush();
    process.stderr.write(`actor-chat: ${error.message}\n`);
    process.exit(1);
  }
  const { url, metricsUrl } = await node.start();
  logger.info({ url, metricsUrl, presence: config.presence, graceMs: config.graceMs }, `actor-chat listening on ${url}`);

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: closing sockets and flushing the journal');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    node
      .stop()
      .then(() => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

/** `--inspect[=<targets>]` is `CHAT_INSPECT=<targets>` (default `local`). */
function withInspectFlag(env: NodeJS.ProcessEnv, args: string[]): NodeJS.ProcessEnv {
  const flag = args.find((arg) => arg === '--inspect' || arg.startsWith('--inspect='));
  if (flag === undefined) return env;
  return { ...env, CHAT_INSPECT: flag === '--inspect' ? 'local' : flag.slice('--inspect='.length) };
}

main().catch((error: unknown) => {
  process.stderr.write(`actor-chat: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
