/**
 * Fail-stop on a real process: the journal's file size is capped under the running node with
 * `prlimit --fsize` (util-linux), so the next append fails with EFBIG part-way through its line.
 * The node must exit non-zero at once with a fatal line naming the file and the error, must not
 * answer 200 to the logout whose record failed, and a restart on the same file must recover:
 * a revoked session still revoked, message ids going on from where they were.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { journalNodes } from '../support/journal-node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const nodes = journalNodes({ CHAT_JOURNAL_FSYNC: 'always', CHAT_SESSION_SECRET: 's'.repeat(40), CHAT_LOG_LEVEL: 'info' });
const { journalPath, start, login, revokedSession, online } = nodes;

/** The status the node answered, or 'no answer' when the connection ended without one. */
async function statusOf(request: Promise<Response>): Promise<number | 'no answer'> {
  try {
    return (await request).status;
  } catch {
    return 'no answer';
  }
}

describe('journal fail-stop', () => {
  it('exits non-zero when an append fails (EFBIG under prlimit --fsize), never answering 200 for it; a restart recovers', async () => {
    nodes.open('actor-chat-failstop-');
    const first = await start();
    const carol = await revokedSession(first, 'carol');
    const alice = await online(first, 'alice');
    alice.send({ type: 'message', text: 'one' });
    alice.send({ type: 'message', text: 'two' });
    const two = await alice.next((frame) => frame.type === 'receive' && frame.text === 'two');
    const bob = await login(first, 'bob');

    // Room for a few bytes more: bob's logout record (≈ 110 bytes) is cut part-way, and the next write fails.
    const size = statSync(journalPath()).size;
    execFileSync('prlimit', ['--pid', String(first.child.pid), `--fsize=${size + 20}`]);
    const logout = await statusOf(fetch(`${first.url}/logout/bob`, { headers: bearer(bob) }));
    expect(logout).not.toBe(200);
    const exit = await first.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    const fatal = first.logs.find((line) => line.level === 60);
    expect(fatal).toBeDefined();
    expect(fatal!.path).toBe(journalPath());
    expect(JSON.stringify(fatal!.err)).toMatch(/EFBIG/);
    expect(statSync(journalPath()).size).toBe(size + 20);

    const second = await start();
    await second.waitForLog((line) => String(line.msg).includes('torn line'));
    const revoked = await fetch(`${second.url}/list-users`, { headers: bearer(carol) });
    expect(revoked.status).toBe(401);
    // Bob's logout was not recorded and was not answered 200: his session is still his.
    expect((await fetch(`${second.url}/list-users`, { headers: bearer(bob) })).status).toBe(200);
    const back = await TestClient.connect(`${second.wsUrl}?after=0`, bearer(await login(second, 'dave')));
    nodes.keepClient(back);
    expect((await back.nextOfType('welcome')).seq).toBe(two.id);
    back.send({ type: 'message', text: 'three' });
    expect((await back.next((frame) => frame.type === 'receive' && frame.text === 'three')).id).toBe((two.id as number) + 1);
  }, 60_000);
});
