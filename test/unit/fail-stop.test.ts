/**
 * The fail-stop seam in process: `createChatNode`'s `onFatal` hears of a journal failure — a write
 * error inside an append, or an error of the periodic fsync (`CHAT_JOURNAL_FSYNC=interval`) — and the
 * node, left running by a test, answers nothing that changes state: /readyz 503, login and logout 503
 * `unavailable`, sockets closed with 1011. (`npm start` exits instead: test/durability/journal-failstop.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestNode, type TestNode } from '../support/node.ts';
import { bearer } from '../support/ws-client.ts';

const failing = vi.hoisted(() => ({ fsync: false, write: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const eio = (call: string) => Object.assign(new Error(`EIO: i/o error, ${call}`), { code: 'EIO', syscall: call });
  return {
    ...fs,
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) =>
      failing.fsync ? setImmediate(() => callback(eio('fdatasync'))) : fs.fdatasync(fd, callback),
    writeSync: (...args: Parameters<typeof fs.writeSync>) => {
      if (failing.write) throw eio('write');
      return fs.writeSync(...args);
    },
  };
});

let dir: string;
let node: TestNode | undefined;
afterEach(async () => {
  failing.fsync = false;
  failing.write = false;
  await node?.close();
  node = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function start(fsync: 'always' | 'interval'): Promise<{ node: TestNode; fatal: Promise<Error> }> {
  dir = mkdtempSync(join(tmpdir(), 'fail-stop-'));
  let heard: (error: Error) => void = () => {};
  const fatal = new Promise<Error>((resolve) => (heard = resolve));
  node = await startTestNode(
    { CHAT_JOURNAL: `file:${join(dir, 'events.log')}`, CHAT_JOURNAL_FSYNC: fsync, CHAT_JOURNAL_FSYNC_MS: '5', CHAT_SESSION_SECRET: 's'.repeat(40) },
    { onFatal: heard },
  );
  return { node, fatal };
}

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as { error: { code: string } }).error.code;
}

describe('fail-stop seam', () => {
  it('a failed append: the logout is not answered 200, the token still works, onFatal heard it, the node is unready', async () => {
    const { node, fatal } = await start('always');
    const alice = await node.connect('alice');
    const bob = await node.login('bob');
    failing.write = true;
    const logout = await fetch(`${node.url}/logout/bob`, { headers: bearer(bob.token) });
    expect(logout.status).toBe(503);
    expect(await errorCode(logout)).toBe('unavailable');
    expect(await fatal).toMatchObject({ code: 'journal_write_failed', path: join(dir, 'events.log') });
    expect(node.node.failed).toBe(true);
    // Not recorded, so not applied: nothing claims bob logged out.
    expect(node.node.runtime.state.revoked.size).toBe(0);
    expect((await fetch(`${node.url}/list-users`, { headers: bearer(bob.token) })).status).toBe(200);
    expect((await fetch(`${node.url}/readyz`)).status).toBe(503);
    failing.write = false;
    const login = await fetch(`${node.url}/login/carol`);
    expect(login.status).toBe(503);
    expect((await alice.waitClosed()).code).toBe(1011);
    expect(node.logs.some((line) => line.level === 60 && line.path === join(dir, 'events.log'))).toBe(true);
  });

  it('a failed periodic fsync (interval policy): onFatal hears it and the next login is refused', async () => {
    const { node, fatal } = await start('interval');
    failing.fsync = true;
    await node.login('alice'); // written, answered; its periodic fsync fails a few ms later
    expect(await fatal).toMatchObject({ code: 'journal_write_failed', message: expect.stringMatching(/EIO/) });
    expect((await fetch(`${node.url}/readyz`)).status).toBe(503);
    const login = await fetch(`${node.url}/login/carol`);
    expect(login.status).toBe(503);
    expect(await errorCode(login)).toMatch(/unavailable|shutting_down/);
  });
});
