/**
 * Micro-benchmark of scrollback: µs per `history` page (50 messages) of the group conversation and of
 * one direct conversation, against history windows of 1k, 10k and 100k messages among 10,000 users
 * (60 % group, 10 % between alice and bob, 30 % direct between random pairs), each window already
 * trimming (filled with 10 % more than it holds). Shows a page costs the same whatever the window size:
 * the window keeps an index per conversation. For reference, the same page by scanning the window.
 * `npm run bench:history [-- --users=10000 --pages=20000]`
 */
import { parseArgs } from 'node:util';
import type { MessageEvent } from '../src/domain/events.ts';
import { MessageWindow } from '../src/journal/history.ts';
import type { Conversation } from '../src/journal/journal.ts';
import { answerHistory } from '../src/protocol/history.ts';

const { values } = parseArgs({ options: { users: { type: 'string', default: '10000' }, pages: { type: 'string', default: '20000' } } });
const users = Number(values.users);
const pages = Number(values.pages);
const LIMIT = 50;

/** A deterministic generator (mulberry32), so every run measures the same window. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fill(size: number): { window: MessageWindow; newest: number } {
  const next = random(size);
  const window = new MessageWindow({ maxMessages: size, maxAgeMs: 1e12 }, () => 0);
  const total = Math.round(size * 1.1);
  for (let id = 1; id <= total; id++) {
    const roll = next();
    const from = `user${Math.floor(next() * users)}`;
    let message: MessageEvent;
    if (roll < 0.6) message = { type: 'GroupMessagePosted', id, from, text: `message ${id}`, ts: id };
    else if (roll < 0.7) message = { type: 'DirectMessagePosted', id, from: id % 2 ? 'alice' : 'bob', to: id % 2 ? 'bob' : 'alice', text: `message ${id}`, ts: id };
    else message = { type: 'DirectMessagePosted', id, from, to: `user${Math.floor(next() * users)}`, text: `message ${id}`, ts: id };
    window.push(message);
  }
  return { window, newest: total };
}

const ROUNDS = 5;

/**
 * µs per call of `run`: the median of ROUNDS rounds of `count` calls, after as many unmeasured calls
 * (JIT warm-up). The median keeps a round slowed by another process on a shared machine out.
 */
function measure(count: number, run: (i: number) => unknown): number {
  let sink = 0;
  for (let i = 0; i < count; i++) sink += run(i) ? 1 : 0;
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) sink += run(i + round * count) ? 1 : 0;
    rounds.push(Number(process.hrtime.bigint() - started) / 1e3 / count);
  }
  if (sink < 0) console.log(sink); // keeps the calls from being optimised away
  return rounds.sort((a, b) => a - b)[ROUNDS >> 1]!;
}

/** The page a window without conversation index would serve: a scan of the whole window. */
function scan(window: MessageWindow, conversation: Conversation, before: number): MessageEvent[] {
  const held = window.page(0).messages;
  const found: MessageEvent[] = [];
  for (let i = held.length - 1; i >= 0 && found.length < LIMIT; i--) {
    const m = held[i]!;
    if (m.id >= before) continue;
    const mine =
      conversation.with === undefined
        ? m.type === 'GroupMessagePosted'
        : m.type === 'DirectMessagePosted' && ((m.from === conversation.user && m.to === conversation.with) || (m.from === conversation.with && m.to === conversation.user));
    if (mine) found.push(m);
  }
  return found.reverse();
}

const conversations: Array<[string, Conversation]> = [
  ['group', { user: 'alice' }],
  ['direct', { user: 'alice', with: 'bob' }],
];
console.log(`${users} users, pages of ${LIMIT}; µs per page, median of ${ROUNDS} rounds of ${pages} pages (scan: fewer)`);
console.log('window    conversation  page (newest)  page (deep)  + answer & JSON  scan of the window');
for (const size of [1_000, 10_000, 100_000]) {
  const { window, newest } = fill(size);
  for (const [name, conversation] of conversations) {
    // Deep pages: `before` spread over 60–90 % of the way from the oldest message held, all full pages.
    const oldest = newest - size;
    const deep = (i: number): number => oldest + Math.floor(size * 0.6) + ((i * 7919) % Math.floor(size * 0.3));
    const newestPage = measure(pages, () => window.conversation(conversation, Number.MAX_SAFE_INTEGER, LIMIT).messages.length);
    const deepPage = measure(pages, (i) => window.conversation(conversation, deep(i), LIMIT).messages.length);
    const answered = measure(pages, (i) => JSON.stringify(answerHistory(window, 'alice', { before: deep(i), with: conversation.with })).length);
    const scanned = measure(Math.max(10, Math.floor(pages / Math.max(1, size / 1000))), (i) => scan(window, conversation, deep(i)).length);
    const full = window.conversation(conversation, deep(0), LIMIT).messages.length === LIMIT;
    console.log(
      `${String(size).padStart(7)}   ${name.padEnd(12)}  ${newestPage.toFixed(2).padStart(13)}  ${deepPage.toFixed(2).padStart(11)}  ${answered.toFixed(2).padStart(15)}  ${scanned.toFixed(1).padStart(18)}${full ? '' : '  (page not full!)'}`,
    );
  }
}
