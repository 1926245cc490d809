/**
 * Close code 4002: a socket admitted on a session that is revoked before the socket opens (the
 * upgrade awaited its session check, and a logout of that session ran meanwhile) is refused by the
 * supervisor, told `session_revoked`, and closed with 4002 — and, never recorded as open, leaves no
 * `SocketClosed` behind. The race is set up deterministically: the real admission, then a real
 * logout over HTTP, then the open, on a socket that records what the node does to it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/domain/events.ts';
import type { ClientSocket, SocketData } from '../../src/transport/client-socket.ts';
import { CloseCode } from '../../src/transport/close-codes.ts';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

let node: TestNode;

afterEach(async () => {
  await node?.close();
});

/** A socket as uWS hands it to the gateway, recording the frames sent and how it was ended. */
function recordingSocket(data: SocketData, onEnd: (socket: ClientSocket, code: number) => void) {
  const sent: Array<Record<string, unknown>> = [];
  let ended: { code: number; reason: string } | undefined;
  const socket: ClientSocket = {
    send: (message) => {
      sent.push(JSON.parse(message) as Record<string, unknown>);
      return 1;
    },
    end: (code = 1000, reason = '') => {
      ended = { code, reason };
      onEnd(socket, code);
    },
    close: () => onEnd(socket, 1006),
    subscribe: () => true,
    unsubscribe: () => true,
    isSubscribed: () => false,
    getUserData: () => data,
    getBufferedAmount: () => 0,
    cork: (cb) => cb(),
  };
  return { socket, sent, ended: () => ended };
}

describe('a socket whose session was revoked between admission and open', () => {
  it('gets session_revoked, is closed with 4002, and no socket of it is recorded', async () => {
    node = await startTestNode({ CHAT_LOG_LEVEL: 'warn' });
    const { gateway, runtime } = node.node;
    const bob = await TestClient.connect(node.wsUrl, bearer((await node.login('bob')).token));
    await bob.nextOfType('welcome');
    const { token } = await node.login('alice');
    const data = await gateway.admission.admit(bearer(token), undefined);
    expect((await fetch(`${node.url}/logout/alice`, { headers: bearer(token) })).status).toBe(200);

    const committed: DomainEvent[] = [];
    runtime.on('committed', ({ event }) => committed.push(event));
    const opening = recordingSocket(data, (socket, code) => gateway.close(socket, code));
    gateway.open(opening.socket);

    expect(opening.sent).toMatchObject([{ type: 'error', code: 'session_revoked' }]);
    expect(opening.ended()).toEqual({ code: CloseCode.SessionRevoked, reason: 'session revoked' });
    expect(CloseCode.SessionRevoked).toBe(4002);
    expect(committed.filter((event) => event.type === 'SocketOpened' || event.type === 'SocketClosed')).toEqual([]);
    expect(runtime.state.sockets.get('alice')).toBeUndefined();
    expect(gateway.connections).toBe(1);
  });

  it('leaves an admitted socket of a live session open and recorded (the same path, not revoked)', async () => {
    node = await startTestNode({ CHAT_LOG_LEVEL: 'warn' });
    const { gateway, runtime } = node.node;
    const data = await gateway.admission.admit(bearer((await node.login('alice')).token), undefined);
    const opening = recordingSocket(data, (socket, code) => gateway.close(socket, code));
    gateway.open(opening.socket);
    expect(opening.ended()).toBeUndefined();
    expect(opening.sent[0]).toMatchObject({ type: 'welcome', user: 'alice' });
    expect(runtime.state.sockets.get('alice')).toBe(1);
    opening.socket.end(1000, '');
    expect(runtime.state.sockets.get('alice')).toBeUndefined();
  });
});
