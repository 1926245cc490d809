/**
 * Scrollback on a live node: the `history` frame and `GET /history` page a conversation back by id,
 * newest last, in the live frames' shape; only the caller's view (never someone else's direct
 * messages); defaults, the limit cap and stable errors; messages arriving between pages are neither
 * repeated nor skipped; the start of a conversation vs messages that left the window.
 */
import { describe, expect, it } from 'vitest';
import { connectClosingAfterEach, startTestNode, type TestNode } from '../support/node.ts';
import { bearer, type Frame, type TestClient } from '../support/ws-client.ts';

let node: TestNode;
const connect = connectClosingAfterEach(() => node);
const RATE = { CHAT_RATE_PER_S: '100000', CHAT_RATE_BURST: '100000' };

async function post(client: TestClient, frames: Array<{ to?: string; text: string }>): Promise<void> {
  for (const frame of frames) client.send(frame.to === undefined ? { type: 'message', text: frame.text } : { type: 'direct', ...frame });
  await client.sync();
}

async function ask(client: TestClient, request: Record<string, unknown>): Promise<Frame> {
  client.send({ type: 'history', ...request });
  return client.next((frame) => frame.type === 'history' || frame.type === 'error');
}

async function get(query: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${node.url}/history${query}`, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const texts = (frame: Frame | Record<string, any>): string[] => (frame.messages as Array<{ text: string }>).map((message) => message.text);

describe('the history frame', () => {
  it('pages the group conversation back, newest last, as live frames, and says where it starts', async () => {
    node = await startTestNode(RATE);
    const alice = await connect('alice');
    await post(alice, Array.from({ length: 7 }, (_, i) => ({ text: `m${i + 1}` })));
    const live = alice.ofType('receive');
    const first = await ask(alice, { limit: 3, cid: 'q1' });
    expect(first).toMatchObject({ type: 'history', cid: 'q1', more: true, expired: false });
    expect(first.messages).toEqual(live.slice(4)); // exactly what a live reader got
    const second = await ask(alice, { before: (first.messages as Frame[])[0]!.id, limit: 3 });
    expect(texts(second)).toEqual(['m2', 'm3', 'm4']);
    expect(second.before).toBe((first.messages as Frame[])[0]!.id);
    const third = await ask(alice, { before: (second.messages as Frame[])[0]!.id, limit: 3 });
    expect(third).toMatchObject({ more: false, expired: false });
    expect(texts(third)).toEqual(['m1']);
  });

  it('defaults to 50, caps the limit at 200, and neither repeats nor skips while messages arrive', async () => {
    node = await startTestNode(RATE);
    const alice = await connect('alice');
    await post(alice, Array.from({ length: 260 }, (_, i) => ({ text: `m${i + 1}` })));
    const first = await ask(alice, {});
    expect(texts(first)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 211}`));
    await post(alice, [{ text: 'new1' }, { text: 'new2' }]); // arrive between pages
    const second = await ask(alice, { before: (first.messages as Frame[])[0]!.id, limit: 1000 });
    expect(texts(second)).toEqual(Array.from({ length: 200 }, (_, i) => `m${i + 11}`));
    expect(second.more).toBe(true);
    const third = await ask(alice, { before: (second.messages as Frame[])[0]!.id, limit: 200 });
    expect(texts(third)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i + 1}`));
    expect(third).toMatchObject({ more: false, expired: false });
  });

  it("serves a direct conversation to its two ends only, and the caller's notes to self", async () => {
    node = await startTestNode(RATE);
    const [alice, bob, carol] = [await connect('alice'), await connect('bob'), await connect('carol')];
    await post(alice, [{ to: 'bob', text: 'a→b' }, { to: 'carol', text: 'a→c' }, { text: 'all' }, { to: 'alice', text: 'note' }]);
    await post(bob, [{ to: 'alice', text: 'b→a' }]);
    await post(carol, [{ to: 'bob', text: 'c→b' }]);
    expect(await ask(alice, { with: 'bob' })).toMatchObject({ with: 'bob', more: false, expired: false });
    expect(texts(await ask(alice, { with: 'bob' }))).toEqual(['a→b', 'b→a']);
    expect(texts(await ask(bob, { with: 'alice' }))).toEqual(['a→b', 'b→a']);
    expect(texts(await ask(bob, { with: 'carol' }))).toEqual(['c→b']);
    expect(texts(await ask(carol, { with: 'alice' }))).toEqual(['a→c']);
    expect(texts(await ask(alice, { with: 'alice' }))).toEqual(['note']);
    expect(texts(await ask(carol, { with: 'carol' }))).toEqual([]);
    expect(texts(await ask(carol, {}))).toEqual(['all']);
    const direct = (await ask(alice, { with: 'bob' })).messages as Frame[];
    expect(direct[0]).toMatchObject({ type: 'direct', from: 'alice', to: 'bob', text: 'a→b' });
  });

  it.each([
    [{ before: 0 }, /"before"/],
    [{ before: 'x' }, /"before"/],
    [{ before: 1.5 }, /"before"/],
    [{ limit: 0 }, /"limit"/],
    [{ limit: -3 }, /"limit"/],
    [{ limit: '10' }, /"limit"/],
    [{ with: 'not a name' }, /"with"/],
    [{ with: 42 }, /"with"/],
  ])('refuses %j with invalid_frame (carrying the cid), and the socket stays open', async (request, message) => {
    node = await startTestNode(RATE);
    const alice = await connect('alice');
    const refused = await ask(alice, { ...request, cid: 'bad' });
    expect(refused).toMatchObject({ type: 'error', code: 'invalid_frame', cid: 'bad' });
    expect(refused.message).toMatch(message);
    expect((await ask(alice, {})).type).toBe('history');
  });
});

describe('the start of a conversation', () => {
  it('says expired once older messages of that conversation left the window', async () => {
    node = await startTestNode({ ...RATE, CHAT_HISTORY_MAX: '5' });
    const alice = await connect('alice');
    await connect('bob');
    await post(alice, [{ to: 'bob', text: 'old' }, ...Array.from({ length: 6 }, (_, i) => ({ text: `m${i + 1}` }))]);
    const group = await ask(alice, { limit: 50 });
    expect(texts(group)).toEqual(['m2', 'm3', 'm4', 'm5', 'm6']);
    expect(group).toMatchObject({ more: false, expired: true });
    expect(await ask(alice, { with: 'bob' })).toMatchObject({ messages: [], more: false, expired: true });
    expect(await ask(alice, { with: 'carol' })).toMatchObject({ messages: [], more: false, expired: false });
  });
});

describe('GET /history', () => {
  it('answers 401 without a session', async () => {
    node = await startTestNode();
    expect(await get('', {})).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
  });

  it('answers the same page as the frame, with a bearer token or the session cookie', async () => {
    node = await startTestNode(RATE);
    const alice = await connect('alice');
    await connect('bob');
    await post(alice, [{ text: 'one' }, { to: 'bob', text: 'psst' }, { text: 'two' }, { text: 'three' }]);
    const { token, cookie } = await node.login('bob');
    const byToken = await get('?limit=2', bearer(token));
    expect(byToken.status).toBe(200);
    expect(byToken.body).toEqual(await ask(alice, { limit: 2 }));
    const older = await get(`?before=${byToken.body.messages[0].id}&limit=2`, { cookie });
    expect(older.body).toMatchObject({ more: false, expired: false });
    expect(texts(older.body)).toEqual(['one']);
    expect(texts((await get('?with=alice', { cookie })).body)).toEqual(['psst']);
    expect(texts((await get('?with=bob', { cookie })).body)).toEqual([]);
    const carol = await node.login('carol');
    expect(texts((await get('?with=bob', bearer(carol.token))).body)).toEqual([]);
    expect(texts((await get('?with=alice&limit=', bearer(carol.token))).body)).toEqual([]);
  });

  it.each(['?before=0', '?before=abc', '?before=-1', '?limit=0', '?limit=1e3', '?with=a%20b', '?with=-x'])(
    'refuses %s with 400 invalid_query',
    async (query) => {
      node = await startTestNode();
      const { token } = await node.login('alice');
      const { status, body } = await get(query, bearer(token));
      expect(status).toBe(400);
      expect(body.error.code).toBe('invalid_query');
    },
  );
});
