import { afterEach, describe, expect, it } from 'vitest';
import { Backoff, fullJitterDelay } from '../../src/protocol/backoff.ts';
import { parseCommand } from '../../src/client/commands.ts';
import { Connection, type SessionEnd } from '../../src/client/connection.ts';
import { clock, formatDirect, formatHistoryGap, formatPresence, formatReceive, formatUsers } from '../../src/client/format.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { bearer } from '../support/ws-client.ts';

describe('client backoff', () => {
  it('draws full jitter below an exponential ceiling that stops at the cap', () => {
    const options = { minMs: 100, maxMs: 1000 };
    expect(fullJitterDelay(0, options, () => 0.999)).toBe(99);
    expect(fullJitterDelay(2, options, () => 0.5)).toBe(200);
    expect(fullJitterDelay(20, options, () => 0.999)).toBe(999);
    expect(fullJitterDelay(3, options, () => 0)).toBe(0);
  });

  it('grows with each failure and starts over after reset', () => {
    const backoff = new Backoff({ minMs: 10, maxMs: 10_000 }, () => 0.999);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([9, 19, 39]);
    backoff.reset();
    expect(backoff.next()).toBe(9);
  });
});

describe('client commands', () => {
  it('reads plain lines as group messages and /dm as a direct message', () => {
    expect(parseCommand('hello there')).toEqual({ kind: 'message', text: 'hello there' });
    expect(parseCommand('/dm bob  hi  you')).toEqual({ kind: 'direct', to: 'bob', text: ' hi  you' });
    expect(parseCommand('//dm is a command')).toEqual({ kind: 'message', text: '/dm is a command' });
    expect(parseCommand('crlf\r')).toEqual({ kind: 'message', text: 'crlf' });
  });

  it('knows x, /users, /help, blank lines and refuses what it cannot run', () => {
    expect(parseCommand('x')).toEqual({ kind: 'quit' });
    expect(parseCommand('x marks')).toEqual({ kind: 'message', text: 'x marks' });
    expect(parseCommand('/users')).toEqual({ kind: 'users' });
    expect(parseCommand('/help')).toEqual({ kind: 'help' });
    expect(parseCommand('   ')).toEqual({ kind: 'empty' });
    expect(parseCommand('/dm bob')).toEqual({ kind: 'invalid', problem: 'usage: /dm <user> <text>' });
    expect(parseCommand('/nope')).toMatchObject({ kind: 'invalid' });
  });
});

describe('client format', () => {
  const ts = new Date(2026, 10, 25, 9, 5, 7).getTime();

  it('prints messages with local time and sender, directs with their recipient', () => {
    expect(clock(ts)).toBe('09:05:07');
    expect(formatReceive({ type: 'receive', id: 1, from: 'alice', text: 'hi', ts })).toBe('[09:05:07] alice: hi');
    expect(formatDirect({ type: 'direct', id: 2, from: 'alice', to: 'bob', text: 'hi', ts })).toBe('[09:05:07] alice → bob: hi');
  });

  it('words presence as online, away (grace) and offline', () => {
    const changes = [
      { user: 'bob', status: 'online' as const },
      { user: 'carol', status: 'grace' as const },
      { user: 'dave', status: 'offline' as const },
    ];
    expect(formatPresence({ type: 'presence', changes })).toEqual(['* bob is online', '* carol is away', '* dave is offline']);
    expect(formatUsers(changes.slice(0, 2).map(({ user, status }) => ({ name: user, status })), 1)).toBe('* 1 online, 1 away: bob, carol (away)');
  });

  it('names the message ids a history gap lost', () => {
    expect(formatHistoryGap({ type: 'history-gap', after: 3, oldest: 10 })).toBe('! history_gap: messages #4–#9 were too old to recover');
    expect(formatHistoryGap({ type: 'history-gap', after: 3, oldest: 5 })).toBe('! history_gap: messages #4 were too old to recover');
  });
});

describe('client connection', () => {
  let node: TestNode | undefined;
  let connection: Connection | undefined;

  afterEach(async () => {
    connection?.stop();
    await node?.close();
  });

  it('reports a session refused at the upgrade (401) instead of retrying', async () => {
    node = await startTestNode();
    const session = await node.login('alice');
    const response = await fetch(`${node.url}/logout/alice`, { headers: bearer(session.token) });
    expect(response.status).toBe(200);
    const notices: string[] = [];
    const ended = new Promise<SessionEnd>((resolve) => {
      connection = new Connection({
        wsUrl: node!.wsUrl,
        token: () => session.token,
        backoff: new Backoff({ minMs: 10, maxMs: 20 }),
        stableMs: 1000,
        keepaliveMs: 10_000,
        handlers: { frame: () => undefined, ready: () => undefined, notice: (text) => notices.push(text), ended: (reason) => resolve(reason) },
      });
      connection.start();
    });
    expect(await ended).toBe('session_revoked');
    expect(notices).toEqual([]);
  });
});
