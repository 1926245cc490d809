import { describe, expect, it } from 'vitest';
import { ChatError } from '../../src/domain/errors.ts';
import { parseClientFrame } from '../../src/protocol/client-frames.ts';

const limits = { maxTextLength: 20, pageSize: 50 };
const parse = (raw: string) => parseClientFrame(raw, limits);
const codeOf = (raw: string): string => {
  try {
    parse(raw);
    return 'accepted';
  } catch (error) {
    return (error as ChatError).code;
  }
};

describe('client frames', () => {
  it('parse every frame type of the protocol, ignoring extra fields', () => {
    expect(parse('{"type":"message","text":"hi","cid":"c-1","extra":true}')).toEqual({ type: 'message', text: 'hi', cid: 'c-1' });
    expect(parse('{"type":"direct","to":"bob","text":"hi"}')).toEqual({ type: 'direct', to: 'bob', text: 'hi' });
    expect(parse('{"type":"list-users","after":"bob","limit":500}')).toEqual({ type: 'list-users', after: 'bob', limit: 50 });
    expect(parse('{"type":"watch","users":["bob","carol"]}')).toEqual({ type: 'watch', users: ['bob', 'carol'] });
    expect(parse('{"type":"unwatch","users":["bob"]}')).toEqual({ type: 'unwatch', users: ['bob'] });
    expect(parse('{"type":"ping"}')).toEqual({ type: 'ping' });
    expect(parse('{"type":"history"}')).toEqual({ type: 'history' });
    expect(parse('{"type":"history","before":42,"limit":500,"with":"bob","cid":"h1"}')).toEqual({ type: 'history', before: 42, limit: 200, with: 'bob', cid: 'h1' });
    expect(parse('{"type":"history","before":null,"with":null}')).toEqual({ type: 'history' });
  });

  it.each([
    ['null', 'invalid_frame'],
    ['"text"', 'invalid_frame'],
    ['{"type":"message"}', 'invalid_frame'],
    ['{"type":"message","text":"' + 'x'.repeat(21) + '"}', 'text_too_long'],
    ['{"type":"message","text":"a\\u001bb"}', 'invalid_frame'],
    ['{"type":"message","text":"\\ud800"}', 'invalid_frame'],
    ['{"type":"direct","text":"hi"}', 'invalid_frame'],
    ['{"type":"direct","to":"bad name","text":"hi"}', 'invalid_frame'],
    ['{"type":"watch","users":[]}', 'invalid_frame'],
    ['{"type":"watch","users":"bob"}', 'invalid_frame'],
    ['{"type":"list-users","limit":1.5}', 'invalid_frame'],
    ['{"type":"history","before":0}', 'invalid_frame'],
    ['{"type":"history","before":"7"}', 'invalid_frame'],
    ['{"type":"history","limit":0}', 'invalid_frame'],
    ['{"type":"history","with":"bad name"}', 'invalid_frame'],
    ['{"type":"history","cid":7}', 'invalid_frame'],
    ['{"type":"nope"}', 'unknown_type'],
    ['{"type":7}', 'unknown_type'],
  ])('refuse %s with %s', (raw, code) => {
    expect(codeOf(raw)).toBe(code);
  });

  it('keep a usable cid on a refusal so the client can match it', () => {
    try {
      parse('{"type":"message","text":"' + 'x'.repeat(21) + '","cid":"c-7"}');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'text_too_long', cid: 'c-7' });
    }
  });
});
