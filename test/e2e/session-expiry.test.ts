/**
 * Sessions end on time: a socket is closed with 4003 when its session expires, whether or not it
 * sends, and it never receives a message posted after that. Real sockets and the shortest allowed
 * session (CHAT_SESSION_TTL_S=2, so 1 to 2 s); the test waits for the close event, bounded by the test timeout.
 */
import { describe, expect, it } from 'vitest';
import { connectClosingAfterEach, startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';
import { ExpiryWheel } from '../../src/transport/expiry-wheel.ts';
import { MIN_SESSION_TTL_S, loadConfig } from '../../src/config.ts';

let node: TestNode;
const connect = connectClosingAfterEach(() => node);

describe('a socket whose session expires', () => {
  it('is closed with 4003 within a second of the expiry, silent or not, and gets no message posted after it', async () => {
    node = await startTestNode({ CHAT_SESSION_TTL_S: String(MIN_SESSION_TTL_S), CHAT_RATE_PER_S: '100000', CHAT_RATE_BURST: '100000' });
    const session = await node.login('alice');
    const alice = await TestClient.connect(node.wsUrl, bearer(session.token));
    await alice.nextOfType('welcome');
    const bob = await connect('bob'); // logged in after alice: his session ends in the same second or later
    let closedAt = 0;
    void alice.waitClosed().then(() => (closedAt = Date.now()));
    // Bob posts one message after another until his own session ends, alice silent all along.
    let sent = 0;
    while (!bob.closed && sent < 100_000) {
      bob.send({ type: 'message', text: `m${sent}`, cid: `c${sent}` });
      sent++;
      const answer = await bob.next((frame) => frame.cid === `c${sent - 1}`).catch(() => undefined);
      if (answer === undefined) break;
    }
    const closed = await alice.waitClosed();
    expect(closed.code).toBe(4003);
    expect(closedAt - session.expiresAt).toBeGreaterThanOrEqual(0);
    expect(closedAt - session.expiresAt).toBeLessThan(1000);
    const received = alice.ofType('receive');
    expect(received.length).toBeGreaterThan(0);
    for (const message of received) expect(message.ts as number).toBeLessThan(session.expiresAt);
    expect((await bob.waitClosed()).code).toBe(4003);
    console.log(`alice closed ${closedAt - session.expiresAt} ms after her expiry; she got ${received.length} of ${sent} messages, all posted before it`);
  });
});

describe('the expiry wheel', () => {
  it('hands out each socket once, at its second, and forgets removed ones', () => {
    let now = 10_000;
    const expired: string[] = [];
    const wheel = new ExpiryWheel<string>((socket) => expired.push(socket), () => now);
    wheel.add('a', 11);
    wheel.add('b', 12);
    wheel.add('c', 12);
    wheel.add('gone', 11);
    wheel.remove('gone', 11);
    wheel.sweep();
    expect(expired).toEqual([]);
    now = 11_000;
    wheel.sweep();
    expect(expired).toEqual(['a']);
    now = 15_000;
    wheel.sweep();
    wheel.sweep();
    expect(expired).toEqual(['a', 'b', 'c']);
    expect(wheel.size).toBe(0);
  });

  it('refuses a session shorter than the documented minimum', () => {
    expect(() => loadConfig({ CHAT_SESSION_TTL_S: String(MIN_SESSION_TTL_S - 1) })).toThrow(/CHAT_SESSION_TTL_S/);
  });
});
