import { afterEach, describe, expect, it } from 'vitest';
import type { DomainEvent, MessageEvent } from '../../src/domain/events.ts';
import { describeState, replay } from '../../src/domain/state.ts';
import { MemoryJournal } from '../../src/journal/memory.ts';
import { MessageWindow } from '../../src/journal/history.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const group = (id: number, ts = id): MessageEvent => ({ type: 'GroupMessagePosted', id, from: 'a', text: String(id), ts });

describe('memory journal', () => {
  it('rebuilds the same state after folding its oldest events into a checkpoint', () => {
    const journal = new MemoryJournal({ maxEvents: 10, maxMessages: 100, maxAgeMs: 1e12 });
    const events: DomainEvent[] = [];
    for (let i = 0; i < 40; i++) {
      const user = `u${i % 7}`;
      events.push({ type: 'SessionStarted', sid: `s${i}`, user, exp: 9e9, at: i });
      events.push({ type: 'PresenceChanged', user, status: i % 3 === 0 ? 'grace' : 'online', previous: 'offline', at: i });
      events.push(group(i + 1));
      if (i % 5 === 0) events.push({ type: 'SessionEnded', sid: `s${i}`, user, exp: 9e9, reason: 'logout', at: i });
    }
    for (const event of events) journal.append(event);
    expect(journal.size).toBeLessThanOrEqual(10);
    expect(describeState(journal.rebuild())).toEqual(describeState(replay(events)));
  });
});

describe('message window', () => {
  it('keeps at most maxMessages and serves ids after a point by binary search', () => {
    const window = new MessageWindow({ maxMessages: 3, maxAgeMs: 1e12 }, () => 10);
    for (let id = 1; id <= 5; id++) window.push(group(id));
    expect(window.page(0)).toEqual({ messages: [group(3), group(4), group(5)], oldest: 3 });
    expect(window.page(4).messages).toEqual([group(5)]);
    expect(window.page(5).messages).toEqual([]);
  });

  it('drops messages older than maxAgeMs', () => {
    let now = 1000;
    const window = new MessageWindow({ maxMessages: 100, maxAgeMs: 500 }, () => now);
    window.push(group(1, 600));
    window.push(group(2, 900));
    now = 1200;
    expect(window.page(0)).toEqual({ messages: [group(2, 900)], oldest: 2 });
    now = 2000;
    expect(window.page(0)).toEqual({ messages: [], oldest: 0 });
  });
});

describe('event sourcing on a live node', () => {
  let node: TestNode;
  afterEach(async () => node.close());

  it('rebuilds presence, sessions and sequence from the journal exactly as the live node holds them', async () => {
    const journal = new MemoryJournal({ maxEvents: 1000, maxMessages: 100, maxAgeMs: 3_600_000 });
    node = await startTestNode({ CHAT_LOG_LEVEL: 'warn' }, { journal });
    const sockets: TestClient[] = [];
    const tokens: Record<string, string> = {};
    for (const user of ['alice', 'bob', 'carol', 'dave']) {
      tokens[user] = (await node.login(user)).token;
      const socket = await TestClient.connect(node.wsUrl, bearer(tokens[user]!));
      await socket.nextOfType('welcome');
      sockets.push(socket);
    }
    sockets[0]!.send({ type: 'message', text: 'one' });
    sockets[1]!.send({ type: 'direct', to: 'alice', text: 'two' });
    await sockets[0]!.nextOfType('direct');
    await sockets[1]!.close(); // bob → grace
    await fetch(`${node.url}/logout/carol`, { headers: bearer(tokens.carol!) }); // carol → offline, revoked
    await sockets[2]!.waitClosed();
    await node.login('erin'); // connecting, not listed

    const live = describeState(node.node.runtime.state as never);
    expect(live.seq).toBe(2);
    expect(live.presence).toEqual([['alice', 'online'], ['bob', 'grace'], ['dave', 'online']]);
    expect(live.revoked).toHaveLength(1);
    expect(describeState(journal.rebuild())).toEqual(live);
    await Promise.all(sockets.map((socket) => socket.close()));
  });
});
