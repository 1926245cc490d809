/**
 * Model-based tests of the whole actor tree (supervisor, shards, user actors) against a real node
 * over real sockets and HTTP. The model (./actor-tree.model.ts) covers two users, 0–3 sockets each,
 * with explicit payload events (LOGIN alice, OPEN bob, POST_DIRECT alice→bob, …); its generated paths
 * interleave the users and their sockets. Each step runs on the node and the node must agree with
 * the model (actor states, sockets, presence, sequence, what each socket receives).
 *
 * Coverage of the machines themselves is measured on the node's live actors (./coverage.ts) and must
 * reach 100% of states and transitions of user, shard and supervisor. Two transitions cannot be reached
 * from outside a running node and are driven by one command injected in-process, reported as such:
 * `DRAIN` without closing the listener (a real stop drains and stops in one synchronous turn, so no
 * frame can reach the draining state), and `SOCKET_OPEN` of a session revoked between the upgrade's
 * check and the open (a race the upgrade closes off). A node started on the journal of a process that
 * died with a socket open drives the recovery (`RECOVER`, and `SOCKET_CLOSE` for a user with no actor).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { decodeLine } from '../../src/journal/codec.ts';
import { createJournal } from '../../src/node.ts';
import { statusOf } from '../../src/domain/state.ts';
import { userMachine } from '../../src/machines/user.machine.ts';
import { shardMachine } from '../../src/machines/shard.machine.ts';
import { supervisorMachine } from '../../src/machines/supervisor.machine.ts';
import { startIdp, type Idp } from '../support/idp.ts';
import { browserLogin, CALLBACK, PUBLIC_URL } from '../support/auth.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer, type Frame } from '../support/ws-client.ts';
import { ModelCoverage } from './coverage.ts';
import type { ChatRuntime } from '../../src/runtime/chat-runtime.ts';
import { USERS, describeStep, generatePaths, graph, initialModel, listed, next, type Model, type Name, type Step } from './actor-tree.model.ts';

/** Equal to the node's session sweep interval: each GRACE step also runs one EXPIRE_SESSIONS sweep. */
const GRACE_MS = 60_000;

const paths = generatePaths();
const coverage = new ModelCoverage([userMachine, shardMachine, supervisorMachine]);

let node: TestNode;
let tokens: Record<Name, string>;
let sockets: Record<Name, TestClient[]>;
let cids = 0;

async function perform(step: Step, before: Model, after: Model): Promise<void> {
  switch (step.type) {
    case 'LOGIN':
      tokens[step.user] = (await node.login(step.user)).token;
      return;
    case 'LOGOUT': {
      const response = await fetch(`${node.url}/logout/${step.user}`, { headers: bearer(tokens[step.user]) });
      expect(response.status).toBe(200);
      for (const socket of sockets[step.user].splice(0)) expect((await socket.waitClosed()).code).toBe(4001);
      return;
    }
    case 'OPEN': {
      const socket = await TestClient.connect(node.wsUrl, bearer(tokens[step.user]));
      expect((await socket.nextOfType('welcome')).seq).toBe(before.seq);
      sockets[step.user].push(socket);
      return;
    }
    case 'CLOSE':
      await sockets[step.user].shift()!.close(); // the oldest first: sockets of one user interleave
      return;
    case 'POST_GROUP':
    case 'POST_DIRECT':
      return post(step, before, after);
    case 'GRACE_ELAPSES':
      vi.advanceTimersByTime(GRACE_MS);
      // Let the I/O those timers started finish before the next step connects: without this turn, under
      // heavy load a socket opened right after two grace steps was sometimes dropped (1006 on both ends).
      await new Promise((resolve) => setImmediate(resolve));
      return;
    case 'DRAIN':
      coverage.via = 'injected';
      node.node.runtime.drain();
      coverage.via = 'node';
      return;
  }
}

/** Sends from the sender's oldest socket; checks the answer there and the delivery on every socket that must see it. */
async function post(step: Extract<Step, { type: 'POST_GROUP' | 'POST_DIRECT' }>, before: Model, after: Model): Promise<void> {
  const cid = `c-${++cids}`;
  const [sender] = sockets[step.from];
  const frame = step.type === 'POST_GROUP' ? { type: 'message', text: `hi ${cid}`, cid } : { type: 'direct', to: step.to, text: `hi ${cid}`, cid };
  sender!.send(frame);
  const answer = await sender!.next((f: Frame) => f.cid === cid);
  if (after.seq === before.seq) {
    const code = before.draining ? 'shutting_down' : 'user_offline';
    expect(answer, `refused with ${code}`).toMatchObject({ type: 'error', code });
    return;
  }
  expect(answer).toMatchObject({ type: step.type === 'POST_GROUP' ? 'receive' : 'direct', id: after.seq, from: step.from });
  const audience = step.type === 'POST_GROUP' ? [...sockets.alice, ...sockets.bob] : [...sockets[step.from], ...sockets[step.to]];
  await Promise.all(audience.filter((socket) => socket !== sender).map((socket) => socket.next((f: Frame) => f.id === after.seq && f.cid === cid)));
}

function assertAgrees(model: Model, where: string): void {
  const state = node.node.runtime.state;
  for (const user of USERS) {
    const expected = model.users[user];
    expect(node.node.runtime.userActorState(user) ?? 'none', `${where}: ${user}'s actor`).toBe(expected.actor);
    expect(state.sockets.get(user) ?? 0, `${where}: ${user}'s open sockets`).toBe(expected.sockets);
    expect(statusOf(state, user), `${where}: ${user}'s presence`).toBe(listed(expected.actor) ? expected.actor : 'offline');
  }
  expect(state.seq, `${where}: sequence`).toBe(model.seq);
  expect(node.node.runtime.draining, `${where}: draining`).toBe(model.draining);
}

describe('actor tree, model-based against a real node: two users, several sockets each, interleaved', () => {
  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    node = await startTestNode(
      { CHAT_GRACE_MS: String(GRACE_MS), CHAT_LOG_LEVEL: 'warn', CHAT_RATE_BURST: '1000000', CHAT_RATE_PER_S: '1000000' },
      { inspect: coverage.inspect },
    );
    tokens = { alice: '', bob: '' };
    sockets = { alice: [], bob: [] };
  });

  afterEach(async () => {
    await Promise.all([...sockets.alice, ...sockets.bob].map((socket) => socket.close()));
    await node.close();
    vi.useRealTimers();
  });

  it('walks every edge of the model', () => {
    const edges = Object.values(graph).reduce((sum, { transitions }) => sum + Object.keys(transitions).length, 0);
    console.log(`supervisor model: ${Object.keys(graph).length} states, ${edges} edges, ${paths.length} paths, ${paths.reduce((n, p) => n + p.length, 0)} steps`);
    expect(paths.length).toBeGreaterThan(0);
  });

  it.each(paths.map((path, index) => [`path ${index + 1}: ${path.length} steps, ${path.slice(0, 6).map(describeStep).join(', ')}, …`, path] as const))(
    '%s',
    async (_name, path) => {
      let model = initialModel;
      for (const [index, step] of path.entries()) {
        const after = next(model, step);
        await perform(step, model, after);
        assertAgrees(after, `step ${index + 1} (${describeStep(step)})`);
        model = after;
      }
      if (!model.draining) {
        const lister = (await node.login('lister')).token;
        const list = (await fetch(`${node.url}/list-users`, { headers: bearer(lister) }).then((r) => r.json())) as { users: Array<{ name: string; status: string }> };
        const expected = USERS.filter((user) => listed(model.users[user].actor)).map((user) => ({ name: user, status: model.users[user].actor }));
        expect(list.users).toEqual(expected);
      }
    },
  );

  it('refuses a socket whose session was revoked after the upgrade checked it (SOCKET_OPEN [sessionRevoked])', async () => {
    const { token } = await node.login('alice');
    const sid = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
    expect((await fetch(`${node.url}/logout/alice`, { headers: bearer(token) })).status).toBe(200);
    await expect(TestClient.connect(node.wsUrl, bearer(token))).rejects.toMatchObject({ status: 401 });
    const rejected: unknown[] = [];
    node.node.runtime.on('rejected', (event) => rejected.push(event));
    coverage.via = 'injected';
    (node.node.runtime as ChatRuntime).send({ type: 'SOCKET_OPEN', user: 'alice', sid, socket: 999_999 });
    coverage.via = 'node';
    expect(rejected).toMatchObject([{ socket: 999_999, code: 'session_revoked' }]);
    expect(node.node.runtime.state.sockets.get('alice')).toBeUndefined();
  });
});

describe('identity binding through a real OpenID provider (BIND_IDENTITY [nameUnbound])', () => {
  let idp: Idp;
  let oidcNode: TestNode;

  afterEach(async () => {
    await oidcNode?.close();
    await idp?.close();
  });

  it('binds the name on the first OIDC login and leaves the binding alone on the next', async () => {
    idp = await startIdp({ redirectUris: [CALLBACK] });
    oidcNode = await startTestNode(
      { CHAT_OIDC_ISSUER: idp.issuer.href, CHAT_OIDC_CLIENT_ID: idp.clientId, CHAT_OIDC_CLIENT_SECRET: idp.clientSecret, CHAT_PUBLIC_URL: PUBLIC_URL, CHAT_LOG_LEVEL: 'warn' },
      { inspect: coverage.inspect },
    );
    const bound: string[] = [];
    oidcNode.node.runtime.on('committed', ({ event }) => event.type === 'IdentityBound' && bound.push(event.user));
    await browserLogin(oidcNode, idp, 'alice');
    await browserLogin(oidcNode, idp, 'alice');
    expect(bound).toEqual(['alice@example.com']);
  });
});

describe('a node started on the journal of a process killed with a socket open (RECOVER)', () => {
  let dir: string;
  let restarted: TestNode | undefined;

  afterEach(async () => {
    await restarted?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes the remembered socket and takes the user offline through the ordinary transitions', async () => {
    dir = mkdtempSync(join(tmpdir(), 'actor-chat-recover-'));
    const path = join(dir, 'journal.jsonl');
    const at = Date.now();
    // What the killed process had journaled: alice logged in with one socket open, online.
    const env = { CHAT_JOURNAL: `file:${path}`, CHAT_LOG_LEVEL: 'warn' };
    const killed = createJournal(loadConfig(env), pino({ level: 'silent' }));
    killed.append({ type: 'SessionStarted', sid: 's1', user: 'alice', exp: Math.floor(at / 1000) + 3600, at });
    killed.append({ type: 'SocketOpened', user: 'alice', socket: 1, at });
    killed.append({ type: 'PresenceChanged', user: 'alice', status: 'online', previous: 'offline', at });
    await killed.close();

    restarted = await startTestNode(env, { inspect: coverage.inspect });
    const state = restarted.node.runtime.state;
    expect(state.sockets.get('alice') ?? 0).toBe(0);
    expect(statusOf(state, 'alice')).toBe('offline');
    expect(restarted.node.runtime.liveActors).toBe(0);
    const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line !== '');
    expect(lines.map(decodeLine).slice(3)).toMatchObject([
      { record: { type: 'SocketClosed', user: 'alice', socket: 0 } },
      { record: { type: 'PresenceChanged', user: 'alice', status: 'offline', previous: 'online' } },
    ]);
    expect(lines).toHaveLength(5);
  });
});

// Runs after the tests above (a file's tests run in order); alone (-t) it fails, as it should.
describe('model coverage of the machines on the node', () => {
  it('took every state and every transition of user, shard and supervisor (100 %)', () => {
    const report = coverage.report();
    expect(coverage.missing(), report).toEqual([]);
    expect(coverage.percent(), report).toBe(100);
    for (const { machine, states, transitions } of coverage.summary()) {
      expect(states[0], `${machine} states`).toBe(states[1]);
      expect(transitions[0], `${machine} transitions`).toBe(transitions[1]);
    }
    // What only an in-process command reaches is named, so a new one cannot slip in unseen.
    expect(coverage.onlyInProcess()).toEqual(['supervisor.running SOCKET_OPEN#0']);
  });
});
