/**
 * The one assembly (src/assembly.ts), in process as `npm start` uses it: the built web client is served
 * from `webRoot` when it has files, a missing one is said once at start and leaves the API alone, and
 * `/auth/*` and the start-up warnings come with every node.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node.ts';

let node: TestNode | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await node?.close();
  node = undefined;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'actor-chat-assembly-'));
  dirs.push(dir);
  return dir;
}

const notBuilt = (line: Record<string, unknown>): boolean => String(line.msg).startsWith('web client not built');

describe('assembleChatNode', () => {
  it('serves the built web client from webRoot', async () => {
    const webRoot = tempDir();
    mkdirSync(join(webRoot, 'assets'));
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>chat</title>');
    writeFileSync(join(webRoot, 'assets', 'app.js'), 'console.log(1);');
    node = await startTestNode({}, { webRoot });
    const index = await fetch(`${node.url}/`);
    expect([index.status, await index.text()]).toEqual([200, '<!doctype html><title>chat</title>']);
    expect((await fetch(`${node.url}/assets/app.js`)).status).toBe(200);
    expect(node.logs.some(notBuilt)).toBe(false);
  });

  it('says the web client is not built when webRoot is missing, and serves the API only', async () => {
    const webRoot = join(tempDir(), 'dist');
    node = await startTestNode({}, { webRoot });
    expect(node.logs).toContainEqual(expect.objectContaining({ level: 40, webRoot, msg: 'web client not built (npm run build): serving the API only' }));
    expect((await fetch(`${node.url}/`)).status).toBe(404);
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });

  it('mounts /auth/* and says dev login is on and the signing key is generated', async () => {
    node = await startTestNode();
    const config = await fetch(`${node.url}/auth/config`);
    expect(await config.json()).toEqual({ oidc: false, devLogin: true, deviceFlow: false });
    expect(node.logs.some(notBuilt)).toBe(false);
    expect(node.logs).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/^dev login is ON/) }));
    expect(node.logs).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/^no CHAT_SESSION_SECRET configured/) }));
  });
});
