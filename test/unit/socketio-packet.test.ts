import { describe, expect, it } from 'vitest';
import { eventPacket } from '../../src/transport/socketio-socket.ts';
import * as frames from '../../src/protocol/server-frames.ts';
import { WelcomeEncoder } from '../../src/protocol/welcome.ts';
import { createChatState } from '../../src/domain/state.ts';

/** What socket.io's own encoder writes for `socket.emit(event, payload)` on the default namespace. */
const emitted = (event: string, payload: unknown): string => `2${JSON.stringify([event, payload])}`;

describe('eventPacket: a /ws frame as a Socket.IO event, by rewriting its text', () => {
  it('turns every server frame into the event of its type with the frame minus type', () => {
    const group = { type: 'GroupMessagePosted', id: 7, from: 'ana', text: 'a "quoted" \\ text', ts: 1, cid: 'c' } as const;
    const direct = { type: 'DirectMessagePosted', id: 8, from: 'ana', to: 'ben', text: 'psst', ts: 2 } as const;
    const welcome = new WelcomeEncoder(10).encode(createChatState(), 'ana', 0, 0);
    const samples = [
      frames.encodeMessage(group),
      frames.encodeMessage(direct),
      frames.encodePresence([{ user: 'ana', status: 'online' }]),
      frames.encodeUsers({ users: [], online: 0, total: 0, next: null }),
      frames.encodeHistoryGap(3, 9),
      welcome,
      '{"type":"pong"}',
    ];
    for (const frame of samples) {
      const { type, ...rest } = JSON.parse(frame) as { type: string };
      expect(eventPacket(frame)).toBe(emitted(type, rest));
    }
  });

  it('names the error frame chat-error and keeps its cid', () => {
    expect(eventPacket(frames.encodeError('rate_limited', 'slow down', 'x'))).toBe(
      emitted('chat-error', { code: 'rate_limited', message: 'slow down', cid: 'x' }),
    );
  });

  it('refuses text that is not a server frame', () => {
    expect(() => eventPacket('{"id":1}')).toThrow(/not a server frame/);
  });
});
