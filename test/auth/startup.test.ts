/**
 * `npm start` (src/main.ts as a real process) with and without OpenID Connect: the node says when dev
 * login is on, discovers the issuer before listening and mounts /auth/*, and refuses to start when the
 * issuer cannot be discovered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startIdp, type Idp } from '../support/idp.ts';
import { spawnNode, type NodeProcess } from '../support/node-process.ts';

let node: NodeProcess | undefined;
let idp: Idp | undefined;

afterEach(async () => {
  if (node && node.child.exitCode === null) {
    node.child.kill('SIGTERM');
    await node.exited;
  }
  await idp?.close();
  node = undefined;
  idp = undefined;
});

const PUBLIC_URL = 'http://127.0.0.1:5999';

describe('npm start and OpenID Connect', () => {
  it('says at start that dev login is on when no issuer is configured', async () => {
    node = await spawnNode({});
    expect(node.logs).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/^dev login is ON/) }));
    const config = await fetch(`${node.url}/auth/config`);
    expect(await config.json()).toEqual({ oidc: false, devLogin: true, deviceFlow: false });
  });

  it('discovers the issuer before listening, serves /auth/login, and keeps dev login off', async () => {
    idp = await startIdp({ redirectUris: [`${PUBLIC_URL}/auth/callback`] });
    node = await spawnNode({
      CHAT_OIDC_ISSUER: idp.issuer.href,
      CHAT_OIDC_CLIENT_ID: idp.clientId,
      CHAT_OIDC_CLIENT_SECRET: idp.clientSecret,
      CHAT_PUBLIC_URL: PUBLIC_URL,
    });
    expect(node.logs).toContainEqual(expect.objectContaining({ msg: 'OpenID Connect login at /auth/login', deviceFlow: true }));
    expect(node.logs.some((line) => String(line.msg).startsWith('dev login is ON'))).toBe(false);
    const login = await fetch(`${node.url}/auth/login`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    expect(login.headers.get('location')).toMatch(new RegExp(`^${idp.issuer.origin}/`));
    expect((await fetch(`${node.url}/login/alice`)).status).toBe(404);
  });

  it('does not start when the issuer cannot be discovered, and says why', async () => {
    idp = await startIdp({ redirectUris: [`${PUBLIC_URL}/auth/callback`] });
    const issuer = idp.issuer.href;
    await idp.close(); // nothing answers there now
    await expect(
      spawnNode({ CHAT_OIDC_ISSUER: issuer, CHAT_OIDC_CLIENT_ID: 'x', CHAT_OIDC_CLIENT_SECRET: 'y', CHAT_PUBLIC_URL: PUBLIC_URL }),
    ).rejects.toThrow(/node exited \(1\) before listening: actor-chat: OpenID Connect: oidc_discovery_failed/);
  });
});
