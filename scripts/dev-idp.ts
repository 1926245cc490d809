/**
 * Development identity provider: runs the test IdP (`oidc-provider`, see test/support/idp.ts) on a fixed
 * loopback port and prints the environment to give the chat node. Usage:
 *   npm run dev:idp -- [--port 5010] [--public-url http://127.0.0.1:5000]
 * Log in as alice, bob or carol with any password.
 */
import { parseArgs } from 'node:util';
import { startIdp, TEST_ACCOUNTS } from '../test/support/idp.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '5010' },
    'public-url': { type: 'string', default: 'http://127.0.0.1:5000' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write(`dev-idp: --port must be a TCP port, got ${values.port}\n`);
  process.exit(2);
}
const publicUrl = new URL(values['public-url']);
const callback = new URL('/auth/callback', publicUrl).href;

const idp = await startIdp({ redirectUris: [callback], port });
const issuer = idp.issuer.href.replace(/\/$/, '');

process.stdout.write(
  [
    `dev IdP listening at ${issuer} (device login at ${issuer}/device)`,
    `accounts: ${TEST_ACCOUNTS.map((a) => a.login).join(', ')} (any password)`,
    '',
    'Give the chat node:',
    `CHAT_OIDC_ISSUER=${issuer}`,
    `CHAT_OIDC_CLIENT_ID=${idp.clientId}`,
    `CHAT_OIDC_CLIENT_SECRET=${idp.clientSecret}`,
    `CHAT_PUBLIC_URL=${publicUrl.origin}`,
    '',
  ].join('\n'),
);

const stop = (signal: NodeJS.Signals): void => {
  process.stdout.write(`dev-idp: ${signal}, closing\n`);
  idp.close().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`dev-idp: close failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
