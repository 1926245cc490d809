/**
 * The message window's conversation index: pages of one conversation cut by id, only the caller's
 * view, `more`/`expired` at the start, trimming by count and age, and (fast-check) paging back from
 * the newest to the start while messages keep arriving yields each visible message exactly once, in order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/domain/events.ts';
import { isVisibleTo } from '../../src/domain/events.ts';
import { MessageWindow } from '../../src/journal/history.ts';
import type { Conversation } from '../../src/journal/journal.ts';

const group = (id: number, from = 'a', ts = id): MessageEvent => ({ type: 'GroupMessagePosted', id, from, text: `g${id}`, ts });
const direct = (id: number, from: string, to: string, ts = id): MessageEvent => ({ type: 'DirectMessagePosted', id, from, to, text: `d${id}`, ts });
const ids = (messages: MessageEvent[]): number[] => messages.map((message) => message.id);
const forever = { maxMessages: 1_000_000, maxAgeMs: 1e12 };
const END = Number.MAX_SAFE_INTEGER;

/** What a conversation holds for `user`, by the definition: the visible messages of that conversation. */
function belongs(message: MessageEvent, conversation: Conversation): boolean {
  if (conversation.with === undefined) return message.type === 'GroupMessagePosted';
  if (message.type !== 'DirectMessagePosted' || !isVisibleTo(message, conversation.user)) return false;
  const { user, with: other } = conversation;
  return (message.from === user && message.to === other) || (message.from === other && message.to === user);
}

describe('conversation pages', () => {
  const window = new MessageWindow(forever, () => 0);
  [group(1), direct(2, 'alice', 'bob'), direct(3, 'carol', 'bob'), group(4), direct(5, 'bob', 'alice'), direct(6, 'alice', 'alice'), group(7)].forEach((m) =>
    window.push(m),
  );

  it('serves the group conversation as its own sequence, newest last, cut by id', () => {
    expect(ids(window.conversation({ user: 'alice' }, END, 50).messages)).toEqual([1, 4, 7]);
    expect(window.conversation({ user: 'alice' }, END, 2)).toMatchObject({ more: true, expired: false });
    expect(ids(window.conversation({ user: 'alice' }, END, 2).messages)).toEqual([4, 7]);
    expect(ids(window.conversation({ user: 'alice' }, 4, 2).messages)).toEqual([1]);
    expect(window.conversation({ user: 'alice' }, 4, 2)).toMatchObject({ more: false, expired: false });
    expect(window.conversation({ user: 'alice' }, 1, 2)).toEqual({ messages: [], more: false, expired: false });
  });

  it('serves a direct conversation from either end, and nobody else’s', () => {
    expect(ids(window.conversation({ user: 'alice', with: 'bob' }, END, 50).messages)).toEqual([2, 5]);
    expect(ids(window.conversation({ user: 'bob', with: 'alice' }, END, 50).messages)).toEqual([2, 5]);
    expect(ids(window.conversation({ user: 'bob', with: 'carol' }, END, 50).messages)).toEqual([3]);
    expect(ids(window.conversation({ user: 'alice', with: 'carol' }, END, 50).messages)).toEqual([]);
    expect(ids(window.conversation({ user: 'alice', with: 'alice' }, END, 50).messages)).toEqual([6]);
    expect(ids(window.conversation({ user: 'bob', with: 'bob' }, END, 50).messages)).toEqual([]);
  });
});

describe('the start of a conversation', () => {
  it('says expired once the count limit dropped an older message of that conversation, not of another', () => {
    const window = new MessageWindow({ maxMessages: 3, maxAgeMs: 1e12 }, () => 0);
    [group(1), direct(2, 'a', 'b'), group(3), group(4), group(5)].forEach((m) => window.push(m));
    expect(window.conversation({ user: 'x' }, END, 50)).toMatchObject({ more: false, expired: true });
    expect(ids(window.conversation({ user: 'x' }, END, 50).messages)).toEqual([3, 4, 5]);
    expect(window.conversation({ user: 'a', with: 'b' }, END, 50)).toEqual({ messages: [], more: false, expired: true });
    expect(window.conversation({ user: 'a', with: 'c' }, END, 50)).toEqual({ messages: [], more: false, expired: false });
    expect(window.conversation({ user: 'x' }, END, 2)).toMatchObject({ more: true, expired: false });
  });

  it('says expired once the age limit dropped messages', () => {
    let now = 1000;
    const window = new MessageWindow({ maxMessages: 100, maxAgeMs: 500 }, () => now);
    window.push(group(1, 'a', 600));
    window.push(group(2, 'a', 900));
    expect(window.conversation({ user: 'a' }, END, 50)).toMatchObject({ more: false, expired: false });
    now = 1200;
    expect(window.conversation({ user: 'a' }, END, 50)).toEqual({ messages: [group(2, 'a', 900)], more: false, expired: true });
  });

  it('says expired when filled from a journal that had already let older ids go', () => {
    const window = new MessageWindow(forever, () => 0);
    window.push(group(41));
    expect(window.conversation({ user: 'a' }, END, 50)).toMatchObject({ more: false, expired: true });
    expect(window.conversation({ user: 'a', with: 'b' }, END, 50)).toMatchObject({ more: false, expired: true });
  });

  it('forgets emptied direct conversations beyond maxMessages of them, and then says expired for all', () => {
    const window = new MessageWindow({ maxMessages: 2, maxAgeMs: 1e12 }, () => 0);
    for (let id = 1; id <= 6; id++) window.push(direct(id, `u${id}`, 'z'));
    expect(window.length).toBe(2);
    expect(window.conversation({ user: 'z', with: 'u6' }, END, 50)).toMatchObject({ more: false, expired: true });
    expect(window.conversation({ user: 'z', with: 'nobody' }, END, 50)).toMatchObject({ messages: [], expired: true });
  });

  it('keeps page(after) for resume alongside', () => {
    const window = new MessageWindow({ maxMessages: 3, maxAgeMs: 1e12 }, () => 0);
    for (let id = 1; id <= 5; id++) window.push(id % 2 ? group(id) : direct(id, 'a', 'b'));
    expect(window.page(0)).toEqual({ messages: [group(3), direct(4, 'a', 'b'), group(5)], oldest: 3 });
    expect(ids(window.page(3, 1).messages)).toEqual([4]);
  });
});

const USERS = ['ann', 'ben', 'cy', 'dot'];
const post = fc.oneof(
  fc.constant<{ to?: string; from: string }>({ from: 'ann' }),
  fc.record({ from: fc.constantFrom(...USERS) }),
  fc.record({ from: fc.constantFrom(...USERS), to: fc.constantFrom(...USERS) }),
);
const step = fc.oneof(fc.record({ posts: fc.array(post, { maxLength: 6 }) }), fc.record({ page: fc.constant(true) }));

describe('paging back (property)', () => {
  it('matches a scan of the window for every page, and paging from the newest to the start yields each visible message once, in order', () => {
    fc.assert(
      fc.property(
        fc.array(post, { maxLength: 60 }),
        fc.array(step, { maxLength: 40 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 7 }),
        fc.constantFrom(...USERS),
        fc.option(fc.constantFrom(...USERS), { nil: undefined }),
        (before, during, maxMessages, limit, user, other) => {
          const window = new MessageWindow({ maxMessages, maxAgeMs: 1e12 }, () => 0);
          const conversation: Conversation = other === undefined ? { user } : { user, with: other };
          let id = 0;
          const all: MessageEvent[] = [];
          const add = (p: { from: string; to?: string }): void => {
            id += 1;
            const message = p.to === undefined ? group(id, p.from) : direct(id, p.from, p.to);
            all.push(message);
            window.push(message);
          };
          before.forEach(add);
          let newest = 0;
          const got: MessageEvent[] = [];
          let cut = END;
          let last: ReturnType<MessageWindow['conversation']> | undefined;
          for (const next of [...during, ...Array.from({ length: 200 }, () => ({ page: true }))]) {
            if ('posts' in next) {
              next.posts.forEach(add);
              continue;
            }
            if (cut === END) newest = id;
            const page = window.conversation(conversation, cut, limit);
            // The same page by scanning the whole window.
            const held = window.page(0).messages.filter((m) => belongs(m, conversation) && m.id < cut);
            expect(page.messages).toEqual(held.slice(-limit));
            expect(page.more).toBe(held.length > limit);
            got.unshift(...page.messages);
            last = page;
            if (!page.more) break;
            cut = page.messages[0]!.id;
          }
          const visible = all.filter((m) => belongs(m, conversation) && m.id <= newest);
          // In order, no repeats, nothing newer than the first page's cut.
          expect(ids(got)).toEqual([...new Set(ids(got))].sort((a, b) => a - b));
          if (id <= maxMessages) {
            expect(got).toEqual(visible); // nothing ever left the window: everything, and the start is the start
            expect(last).toMatchObject({ more: false, expired: false });
          } else {
            // What was skipped at the start is exactly what left the window meanwhile, and then the page says so.
            expect(got).toEqual(visible.slice(visible.length - got.length));
            const lost = visible.length - got.length;
            if (lost > 0) expect(last!.expired).toBe(true);
          }
        },
      ),
      { seed: 20261207, numRuns: 400 },
    );
  });
});
