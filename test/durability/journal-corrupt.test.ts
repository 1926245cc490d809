/**
 * A corrupt record in the middle of the journal, on real processes: the node refuses to start,
 * naming the file, the byte offset and the command; `npm run journal -- check` reports it;
 * `repair` sets the bad tail aside; the restarted node never accepts a revoked session again (nor one
 * whose start was among the lost bytes) and never hands out an id that was handed out before.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { journalNodes } from '../support/journal-node.ts';
import { launchNode } from '../support/node-process.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const nodes = journalNodes({ CHAT_SESSION_SECRET: 's'.repeat(40), CHAT_GRACE_MS: '0' });
const { journalPath, env, start, login, revokedSession, online } = nodes;

function journalCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // What `npm run journal -- …` runs (package.json), without npm's own start-up time.
    execFile(process.execPath, ['--import', 'tsx', 'src/journal/cli.ts', ...args], { cwd: root }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('a corrupt journal record', () => {
  it('stops the node from starting; check finds it; repair sets it aside; revoked stays revoked and ids go on', async () => {
    nodes.open('actor-chat-corrupt-');
    const first = await start();
    const carol = await revokedSession(first, 'carol');
    const alice = await online(first, 'alice');
    for (let i = 1; i <= 5; i++) alice.send({ type: 'message', text: `m${i}` });
    const last = await alice.next((frame) => frame.type === 'receive' && frame.text === 'm5');
    const bob = await login(first, 'bob');
    expect((await fetch(`${first.url}/logout/bob`, { headers: bearer(bob) })).status).toBe(200);
    // erin's login is recorded, but its record is damaged too: the repair cannot know her session.
    const erin = await login(first, 'erin');
    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    // One flipped character in the record of message m3: its checksum no longer matches.
    const text = readFileSync(journalPath(), 'utf8');
    const at = text.indexOf('"text":"m3"');
    const lineStart = text.lastIndexOf('\n', at) + 1;
    const damaged = `${text.slice(0, at)}"text":"M3"${text.slice(at + '"text":"m3"'.length)}`;
    expect(damaged).toContain('"user":"erin"');
    writeFileSync(journalPath(), damaged.replace('"user":"erin"', '"user":"ERIN"'));

    const refused = launchNode(env());
    const exit = await refused.exited;
    expect(exit.code).toBe(1);
    expect(refused.stderr()).toContain(journalPath());
    expect(refused.stderr()).toContain(`byte ${lineStart}`);
    expect(refused.stderr()).toContain(`npm run journal -- repair ${journalPath()}`);

    const check = await journalCli('check', journalPath());
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`first bad record at byte ${lineStart}`);

    const repair = await journalCli('repair', journalPath());
    expect(repair.code).toBe(0);
    const aside = readdirSync(nodes.dir()).find((name) => name.startsWith(`events.log.bad-${lineStart}-`));
    expect(aside).toBeDefined();
    expect(readFileSync(join(nodes.dir(), aside!), 'utf8')).toContain('"text":"M3"');
    expect((await journalCli('check', journalPath())).code).toBe(0);

    const second = await start();
    for (const token of [carol, bob, erin]) {
      const refused = await fetch(`${second.url}/list-users`, { headers: bearer(token) });
      expect([refused.status, ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([401, 'session_revoked']);
    }
    const dave = await TestClient.connect(second.wsUrl, bearer(await login(second, 'dave')));
    nodes.keepClient(dave);
    const welcome = await dave.nextOfType('welcome');
    expect(welcome.seq).toBeGreaterThan(last.id as number);
    dave.send({ type: 'message', text: 'after repair' });
    expect((await dave.next((frame) => frame.type === 'receive')).id).toBeGreaterThan(last.id as number);
    expect(existsSync(`${journalPath()}.repair`)).toBe(false);
  }, 60_000);
});
