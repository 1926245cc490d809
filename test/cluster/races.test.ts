/**
 * Races across real nodes, decided by the shared log (issue 15): a direct message racing the recipient's grace
 * expiry is either delivered (to the recipient on resume, and in `/history` for both ends on both nodes) or
 * refused `user_offline` — never both, never neither; a logout on node A racing an upgrade of the same session
 * on node B never leaves a socket open with the revoked session (refused at the upgrade, or closed 4001/4002).
 * (A retried append landing once is shown at the engine level: test/engine/redis-log.test.ts.)
 */
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { useClusters } from '../support/cluster.ts';
import { connect, listUsers, login, sawIn } from '../support/cluster-clients.ts';
import { TestClient, bearer, type Frame } from '../support/ws-client.ts';

const startCluster = useClusters();

/** Waits for a presence frame received at or after index `mark` showing `user` with `status`. */
function shownSince(client: TestClient, mark: number, user: string, status: string): Promise<unknown> {
  const match = (frame: Frame): boolean => frame.type === 'presence' && sawIn(frame, user, status) && client.frames.indexOf(frame) >= mark;
  return client.frames.some(match) ? Promise.resolve() : client.next(match);
}

function sawSince(client: TestClient, mark: number, user: string, status: string): boolean {
  return client.frames.slice(mark).some((frame) => frame.type === 'presence' && sawIn(frame, user, status));
}

/** Rejects with `why` unless `promise` settles within `ms` (a bound on a wait, not a wait). */
function within<T>(promise: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(why)), ms)));
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

type HistoryAnswer = { messages: Array<{ id: number; text: string }>; more: boolean };

async function directHistory(url: string, token: string, other: string): Promise<HistoryAnswer> {
  const response = await fetch(`${url}/history?with=${other}&limit=200`, { headers: bearer(token) });
  expect(response.status).toBe(200);
  return (await response.json()) as HistoryAnswer;
}

const ROUNDS = 5;
const DM_EVERY_MS = 15;
const DMS_AFTER_OFFLINE = 3;
const MAX_DMS_PER_ROUND = 100;

describe('races decided by the log', () => {
  it('decides a direct message racing a grace expiry once: delivered and in history for both ends, or refused user_offline', { timeout: 120_000 }, async () => {
    const cluster = await startCluster({ nodes: 2, ttlMs: 1000, graceMs: 300, env: { CHAT_RATE_PER_S: '1000', CHAT_RATE_BURST: '1000' } });
    const [a, b] = [cluster.node(0), cluster.node(1)];
    const senderToken = await login(a, 'sender');
    const sender = await connect(a, senderToken);
    const recipientToken = await login(b, 'rcpt');
    const allDelivered: Array<{ id: number; text: string }> = [];
    const allRefused: string[] = [];
    let previous: number[] = [];
    let lastSeen: number | undefined;
    const counts: string[] = [];

    for (let round = 0; round <= ROUNDS; round++) {
      // The recipient comes back (on B) and resumes: it gets exactly the direct messages delivered while it was away.
      const online = sender.frames.length;
      const recipient = await connect(b, recipientToken, lastSeen);
      if (previous.length > 0) await recipient.next((frame) => frame.type === 'direct' && frame.id === previous.at(-1));
      expect(recipient.ofType('direct').map((frame) => frame.id)).toEqual(previous);
      await shownSince(sender, online, 'rcpt', 'online');
      if (round === ROUNDS) break;
      lastSeen = Math.max(lastSeen ?? 0, ...recipient.ofType('direct').map((frame) => frame.id as number));

      // Its last socket closes: grace (owned by B, which appended the detach); the sender sends a direct message every
      // 15 ms from A through the whole grace, past its expiry, until it has seen the recipient offline (and 3 more).
      const leaving = sender.frames.length;
      await recipient.close();
      await shownSince(sender, leaving, 'rcpt', 'grace');
      const cids: string[] = [];
      await new Promise<void>((resolve) => {
        let sinceOffline = -1;
        const sending = setInterval(() => {
          const cid = `r${round}-${cids.length}`;
          sender.send({ type: 'direct', to: 'rcpt', text: cid, cid });
          cids.push(cid);
          if (sinceOffline < 0 && sawSince(sender, leaving, 'rcpt', 'offline')) sinceOffline = 0;
          if ((sinceOffline >= 0 && ++sinceOffline > DMS_AFTER_OFFLINE) || cids.length >= MAX_DMS_PER_ROUND) {
            clearInterval(sending);
            resolve();
          }
        }, DM_EVERY_MS);
      });

      // Every direct message answered: echoed (delivered, with its id) or refused — exactly one of the two.
      const answers = (cid: string): Frame[] => sender.frames.filter((frame) => frame.cid === cid && (frame.type === 'direct' || frame.type === 'error'));
      const answered = (): boolean => cids.every((cid) => answers(cid).length > 0);
      if (!answered()) await within(sender.next(answered), 10_000, 'a direct message was neither delivered nor refused');
      await sender.sync();
      const verdicts = cids.map((cid) => {
        const [only, ...more] = answers(cid);
        expect(more, `${cid} answered twice`).toEqual([]);
        if (only!.type === 'error') expect(only).toMatchObject({ code: 'user_offline' });
        return only!;
      });
      // One sender's proposals reach the log in order, and the expiry is one point in it: delivered first, then refused.
      const delivered = verdicts.filter((frame) => frame.type === 'direct');
      const refused = verdicts.filter((frame) => frame.type === 'error');
      expect(verdicts).toEqual([...delivered, ...refused]);
      expect(delivered.length).toBeGreaterThan(0);
      expect(refused.length).toBeGreaterThan(0);
      previous = delivered.map((frame) => frame.id as number);
      allDelivered.push(...delivered.map((frame) => ({ id: frame.id as number, text: frame.text as string })));
      allRefused.push(...refused.map((frame) => frame.cid as string));
      counts.push(`${delivered.length}+${refused.length}`);
    }

    // In history on both ends, on both nodes: every delivered one, none of the refused.
    for (const [url, token, other] of [[a.url, senderToken, 'rcpt'], [b.url, senderToken, 'rcpt'], [a.url, recipientToken, 'sender'], [b.url, recipientToken, 'sender']] as const) {
      const history = await directHistory(url, token, other);
      expect(history.more).toBe(false);
      expect(history.messages.map((message) => ({ id: message.id, text: message.text }))).toEqual(allDelivered);
    }
    expect(allRefused.length).toBeGreaterThan(0);
    console.info(`DM vs grace expiry (grace 300 ms, a DM every ${DM_EVERY_MS} ms): delivered+refused per round ${counts.join(', ')}; ${allDelivered.length} in history on both ends and nodes`);
  });

  it('never leaves a socket open with a session logged out on another node at the same moment', { timeout: 120_000 }, async () => {
    const cluster = await startCluster({ nodes: 2, ttlMs: 1000, graceMs: 1000 });
    const [a, b] = [cluster.node(0), cluster.node(1)];
    const watcherToken = await login(a, 'watcher');
    const outcomes = new Map<string, number>();
    const count = (outcome: string): void => void outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const tokens: string[] = [];
    const ROUNDS_LOGOUT = 16;
    for (let round = 0; round < ROUNDS_LOGOUT; round++) {
      const token = await login(a, 'eve');
      tokens.push(token);
      // The two start a few milliseconds apart, either first (-8…+7 ms), so the upgrade lands before, during and after the logout's commit.
      const offset = (round % 16) - 8;
      const upgrade = (async () => {
        if (offset > 0) await delay(offset);
        return TestClient.connect(b.wsUrl, bearer(token)).then(
          (client) => ({ client }),
          (error: { status?: number }) => ({ status: error.status }),
        );
      })();
      const logout = (async () => {
        if (offset < 0) await delay(-offset);
        return fetch(`${a.url}/logout/eve`, { headers: bearer(token) });
      })();
      const [upgraded, loggedOut] = await Promise.all([upgrade, logout]);
      expect(loggedOut.status).toBe(200);
      if ('client' in upgraded) {
        const closed = await within(upgraded.client.waitClosed(), 10_000, `round ${round}: a socket of a logged-out session was left open on B`);
        expect([4001, 4002], `round ${round}: closed ${closed.code} ${closed.reason} (client saw: ${String(upgraded.client.error)}; B's last lines: ${JSON.stringify(b.logs.slice(-5))})`).toContain(closed.code);
        count(`opened, closed ${closed.code}${upgraded.client.ofType('welcome').length > 0 ? ' after its welcome' : ''}`);
      } else {
        expect([401, 403], `round ${round}: upgrade answered ${upgraded.status}`).toContain(upgraded.status);
        count(`upgrade refused ${upgraded.status}`);
      }
    }
    // Every session refused on every node; eve listed offline, the same on both.
    for (const node of [a, b]) {
      for (const token of tokens) expect(((await listUsers(node, token)) as { status: number }).status).toBe(401);
    }
    const lists = (await Promise.all([a, b].map((node) => listUsers(node, watcherToken)))) as Array<{ body: { users: Array<{ name: string; status: string }> } }>;
    expect(lists[1]).toEqual(lists[0]);
    expect(lists[0]!.body.users.find((user) => user.name === 'eve')?.status ?? 'offline').toBe('offline');
    console.info(`logout on A vs upgrade on B, ${ROUNDS_LOGOUT} rounds: ${[...outcomes].map(([outcome, n]) => `${outcome}: ${n}`).join('; ')}`);
  });
});
