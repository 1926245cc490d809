/**
 * Unit tests for the web client's DOM-free parts: chat state (pending → confirmed by cid, dedupe by
 * id, unread counts, resume gaps), frame parsing and reconnect backoff. Run in Node, no browser.
 */
import { describe, expect, it } from 'vitest';
import { equalJitterDelay as backoffDelay } from '../../src/protocol/backoff.ts';
import type { WelcomeFrame } from '../../src/protocol/wire.ts';
import { parseServerFrame } from '../../web/src/protocol.ts';
import { ChatStore, GROUP, dmKey, type Change } from '../../web/src/store.ts';

const welcome = (over: Partial<WelcomeFrame> = {}): WelcomeFrame => ({
  type: 'welcome',
  user: 'alice',
  seq: 10,
  online: 2,
  users: [
    { name: 'alice', status: 'online' },
    { name: 'bob', status: 'online' },
  ],
  truncated: false,
  ...over,
});

function texts(store: ChatStore, key = GROUP): string[] {
  return store.conversation(key).messages.map((m) => `${m.state}:${m.text}`);
}

describe('ChatStore', () => {
  it('confirms a pending send when the echo with its cid arrives, once', () => {
    const store = new ChatStore();
    store.welcome(welcome());
    const { cid, frame } = store.compose(GROUP, 'hi');
    expect(frame).toEqual({ type: 'message', text: 'hi', cid });
    expect(texts(store)).toEqual(['pending:hi']);
    const echo = { type: 'receive', id: 11, from: 'alice', text: 'hi', ts: 1, cid } as const;
    store.message(echo);
    store.message(echo);
    expect(texts(store)).toEqual(['confirmed:hi']);
    expect(store.lastId).toBe(11);
  });

  it('does not confirm my send with a cid echoed from someone else', () => {
    const store = new ChatStore();
    store.welcome(welcome());
    const { cid } = store.compose(GROUP, 'mine');
    store.message({ type: 'receive', id: 11, from: 'bob', text: 'theirs', ts: 1, cid });
    expect(texts(store)).toEqual(['confirmed:theirs', 'pending:mine']);
  });

  it('orders delivered messages by id, ahead of sends still pending', () => {
    const store = new ChatStore();
    store.welcome(welcome());
    store.compose(GROUP, 'waiting');
    store.message({ type: 'receive', id: 13, from: 'bob', text: 'c', ts: 3 });
    store.message({ type: 'receive', id: 12, from: 'bob', text: 'b', ts: 2 });
    expect(texts(store)).toEqual(['confirmed:b', 'confirmed:c', 'pending:waiting']);
  });

  it('files direct messages under the other person and counts unread outside the open conversation', () => {
    const store = new ChatStore();
    store.welcome(welcome());
    store.message({ type: 'direct', id: 11, from: 'bob', to: 'alice', text: 'psst', ts: 1 });
    store.message({ type: 'direct', id: 12, from: 'alice', to: 'bob', text: 'yes?', ts: 2 });
    expect(texts(store, dmKey('bob'))).toEqual(['confirmed:psst', 'confirmed:yes?']);
    expect(store.conversation(dmKey('bob')).unread).toBe(1);
    store.open(dmKey('bob'));
    expect(store.conversation(dmKey('bob')).unread).toBe(0);
    store.message({ type: 'receive', id: 13, from: 'bob', text: 'all', ts: 3 });
    expect(store.conversation(GROUP).unread).toBe(1);
  });

  it('fails a send on a refusal naming its cid, and retries it with the same frame', () => {
    const store = new ChatStore();
    store.welcome(welcome());
    const { cid, frame } = store.compose(dmKey('carol'), 'hello?');
    expect(frame).toEqual({ type: 'direct', to: 'carol', text: 'hello?', cid });
    store.error({ type: 'error', code: 'user_offline', message: 'carol is offline', cid });
    const msg = store.conversation(dmKey('carol')).messages[0];
    expect(msg?.state).toBe('failed');
    expect(msg?.error).toEqual({ code: 'user_offline', message: 'carol is offline' });
    expect(store.retry(cid)).toEqual(frame);
    expect(msg?.state).toBe('pending');
    store.discard(cid);
    expect(store.conversation(dmKey('carol')).messages).toEqual([]);
  });

  it('turns an error without a known cid into a notice', () => {
    const store = new ChatStore();
    const changes: Change[] = [];
    store.subscribe((c) => changes.push(c));
    store.error({ type: 'error', code: 'invalid_frame', message: 'bad frame' });
    expect(changes).toContainEqual({ kind: 'notice', level: 'error', text: 'bad frame (invalid_frame)' });
  });

  it('fails every unconfirmed send when the socket drops', () => {
    const store = new ChatStore();
    store.welcome(welcome());
    store.compose(GROUP, 'a');
    store.compose(GROUP, 'b');
    store.failAllPending('disconnected', 'connection lost');
    expect(texts(store)).toEqual(['failed:a', 'failed:b']);
  });

  it('keeps the resume point across welcomes and notes a gap older than the history window', () => {
    const store = new ChatStore();
    store.welcome(welcome({ seq: 10 }));
    expect(store.lastId).toBe(10);
    store.message({ type: 'receive', id: 12, from: 'bob', text: 'x', ts: 1 });
    store.welcome(welcome({ seq: 40, oldest: 13 }));
    expect(store.lastId).toBe(12);
    expect(texts(store)).toEqual(['confirmed:x']);
    store.welcome(welcome({ seq: 40, oldest: 20 }));
    store.historyGap();
    expect(texts(store)).toEqual(['confirmed:x', 'system:Some messages from while you were away were too old to recover.']);
  });

  it('starts over when the server sequence went backwards (history lost in a restart)', () => {
    const store = new ChatStore();
    store.welcome(welcome({ seq: 10 }));
    store.message({ type: 'receive', id: 11, from: 'bob', text: 'before', ts: 1 });
    store.welcome(welcome({ seq: 0 }));
    expect(store.lastId).toBe(0);
    store.message({ type: 'receive', id: 1, from: 'bob', text: 'after', ts: 2 });
    expect(texts(store).at(-1)).toBe('confirmed:after');
  });

  it('tracks presence: grace stays listed, offline leaves, pages merge', () => {
    const store = new ChatStore();
    store.welcome(welcome({ truncated: true, next: 'bob' }));
    expect(store.usersCursor).toBe('bob');
    expect(store.statusOf('zed')).toBe('unknown');
    store.presence({ type: 'presence', changes: [{ user: 'bob', status: 'grace' }] });
    expect(store.statusOf('bob')).toBe('grace');
    store.usersPage({ type: 'users', users: [{ name: 'carol', status: 'online' }], online: 3, next: null });
    expect(store.usersCursor).toBeNull();
    store.presence({ type: 'presence', changes: [{ user: 'bob', status: 'offline' }] });
    expect(store.statusOf('bob')).toBe('offline');
    expect(store.online).toBe(2);
  });
});

describe('ChatStore scrollback', () => {
  const group = (id: number, from = 'bob') => ({ type: 'receive' as const, id, from, text: `g${id}`, ts: id });

  it('asks for the newest page, then for pages before the oldest id shown, and stops at the start', () => {
    const store = new ChatStore();
    store.welcome(welcome({ seq: 30 }));
    const first = store.historyRequest(GROUP)!;
    expect(first).toEqual({ type: 'history', limit: 50, cid: first.cid });
    expect(store.historyRequest(GROUP)).toBeUndefined(); // one in flight per conversation
    store.history({ type: 'history', cid: first.cid, messages: [group(20), group(30)], more: true, expired: false });
    expect(store.conversation(GROUP).older).toBe('more');
    const second = store.historyRequest(GROUP)!;
    expect(second.before).toBe(20);
    store.history({ type: 'history', cid: second.cid, before: 20, messages: [group(3)], more: false, expired: false });
    expect(texts(store)).toEqual(['confirmed:g3', 'confirmed:g20', 'confirmed:g30']);
    expect(store.conversation(GROUP).older).toBe('start');
    expect(store.historyRequest(GROUP)).toBeUndefined();
  });

  it('never counts history as unread, never moves the resume point, and skips what it already has', () => {
    const store = new ChatStore();
    store.welcome(welcome({ seq: 40 }));
    store.message(group(41));
    const request = store.historyRequest(dmKey('bob'))!;
    expect(request.with).toBe('bob');
    store.history({
      type: 'history',
      cid: request.cid,
      with: 'bob',
      messages: [{ type: 'direct', id: 7, from: 'bob', to: 'alice', text: 'old', ts: 7 }],
      more: false,
      expired: true,
    });
    expect(store.conversation(dmKey('bob')).unread).toBe(0);
    expect(store.conversation(dmKey('bob')).older).toBe('expired');
    expect(store.lastId).toBe(41);
    const again = store.historyRequest(dmKey('carol'))!;
    store.message({ type: 'direct', id: 42, from: 'carol', to: 'alice', text: 'live', ts: 42 });
    store.history({ type: 'history', cid: again.cid, with: 'carol', messages: [{ type: 'direct', id: 42, from: 'carol', to: 'alice', text: 'live', ts: 42 }], more: false, expired: false });
    expect(texts(store, dmKey('carol'))).toEqual(['confirmed:live']);
    expect(store.conversation(dmKey('carol')).unread).toBe(1); // the live one, once
  });

  it('forgets requests the socket took with it, and a refused one, so they can be asked again', () => {
    const changes: Change[] = [];
    const store = new ChatStore();
    store.subscribe((c) => changes.push(c));
    store.welcome(welcome());
    const lost = store.historyRequest(GROUP)!;
    store.abandonHistory();
    expect(store.conversation(GROUP).loading).toBeUndefined();
    store.history({ type: 'history', cid: lost.cid, messages: [group(1)], more: false, expired: false });
    expect(texts(store)).toEqual([]); // an answer for a request given up on is ignored
    const refused = store.historyRequest(GROUP)!;
    store.error({ type: 'error', code: 'invalid_frame', message: 'bad', cid: refused.cid });
    expect(store.conversation(GROUP).loading).toBeUndefined();
    expect(changes).toContainEqual({ kind: 'notice', level: 'error', text: 'Could not load older messages: bad (invalid_frame)' });
  });

  it('keeps what scrollback loaded beyond the per-conversation limit', () => {
    const store = new ChatStore(3);
    store.welcome(welcome({ seq: 10 }));
    for (const id of [8, 9, 10]) store.message(group(id));
    const request = store.historyRequest(GROUP)!;
    expect(request.before).toBeUndefined();
    store.history({ type: 'history', cid: request.cid, messages: [group(5), group(6), group(7), group(8)], more: true, expired: false });
    expect(texts(store)).toEqual(['confirmed:g5', 'confirmed:g6', 'confirmed:g7', 'confirmed:g8', 'confirmed:g9', 'confirmed:g10']);
  });
});

describe('parseServerFrame', () => {
  it('reads the frames of PROTOCOL.md and drops malformed ones', () => {
    expect(parseServerFrame('{"type":"receive","id":1,"from":"a","text":"t","ts":5,"cid":"c"}')).toEqual({
      type: 'receive', id: 1, from: 'a', text: 't', ts: 5, cid: 'c',
    });
    expect(parseServerFrame('{"type":"direct","id":1,"from":"a","text":"t","ts":5}')).toBeUndefined();
    expect(parseServerFrame('{"type":"presence","changes":[{"user":"b","status":"grace"},{"user":1}]}')).toEqual({
      type: 'presence', changes: [{ user: 'b', status: 'grace' }],
    });
    expect(parseServerFrame('{"type":"users","users":[],"online":0,"next":null}')).toEqual({ type: 'users', users: [], online: 0, next: null });
    expect(parseServerFrame('{"type":"history","with":"b","before":9,"cid":"h","messages":[{"type":"receive","id":1,"from":"a","text":"t","ts":5},{"id":"x"}],"more":false,"expired":true}')).toEqual({
      type: 'history', with: 'b', before: 9, cid: 'h', messages: [{ type: 'receive', id: 1, from: 'a', text: 't', ts: 5 }], more: false, expired: true,
    });
    expect(parseServerFrame('{"type":"history","messages":[]}')).toBeUndefined();
    expect(parseServerFrame('not json')).toBeUndefined();
    expect(parseServerFrame('[1]')).toBeUndefined();
    expect(parseServerFrame('{"type":"nope"}')).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  it('doubles up to the cap, with jitter in the upper half', () => {
    const opts = { minMs: 500, maxMs: 8000 };
    expect(backoffDelay(0, opts, () => 0)).toBe(250);
    expect(backoffDelay(0, opts, () => 0.999999)).toBe(500);
    expect(backoffDelay(3, opts, () => 0)).toBe(2000);
    expect(backoffDelay(10, opts, () => 0.5)).toBe(6000);
    expect(backoffDelay(1000, opts, () => 1)).toBe(8000);
  });
});
