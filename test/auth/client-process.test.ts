/**
 * The real console client process with `--device`: against a node with OpenID Connect it prints the
 * verification URL and code, the test plays the person approving at the IdP, and the client chats and
 * logs out; against a node without device login it says so and exits 1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClientProcess } from '../support/client-process.ts';
import { startAuthNode, type AuthSetup } from '../support/auth.ts';
import { startTestNode, type TestNode } from '../support/node.ts';

let setup: AuthSetup | undefined;
let plain: TestNode | undefined;
const processes: ClientProcess[] = [];

afterEach(async () => {
  for (const client of processes.splice(0)) client.kill();
  await setup?.close();
  await plain?.close();
  setup = undefined;
  plain = undefined;
});

function startClient(args: string[]): ClientProcess {
  const client = ClientProcess.start(args);
  processes.push(client);
  return client;
}

describe('console client --device', () => {
  it('prints the URL and code, logs in once the person approves, chats, and logs out with x', async () => {
    setup = await startAuthNode();
    const { t, idp } = setup;
    const client = startClient(['--url', t.url, '--device']);
    const line = await client.waitFor(/^To log in, open .* and enter the code [A-Z]{4}-[A-Z]{4}$/);
    expect(line).toContain(`${idp.issuer.origin}/device`);
    const code = /([A-Z]{4}-[A-Z]{4})$/.exec(line)![1]!;
    await idp.approveDevice(code, 'alice');
    // The IdP's polling interval is 5 s: the first poll after it gets the session.
    await client.waitFor(/^\* connected as alice@example\.com/, 15_000);
    client.write('hello from the console');
    await client.waitFor(/alice@example\.com: hello from the console$/);
    client.write('x');
    expect(await client.exited).toBe(0);
  }, 30_000);

  it('says clearly that a node without OpenID Connect offers no device login, and exits 1', async () => {
    plain = await startTestNode();
    const client = startClient(['--url', plain.url, '--device']);
    expect(await client.exited).toBe(1);
    expect(client.stderr).toMatch(/device login failed: this node or its identity provider offers no device login/);
  });

  it('refuses --device together with --user (exit 2)', async () => {
    const client = startClient(['--device', '--user', 'alice']);
    expect(await client.exited).toBe(2);
    expect(client.stderr).toMatch(/--device and --user exclude each other/);
  });
});
