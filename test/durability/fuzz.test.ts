/**
 * Hostile input: 50,000+ generated frames (fast-check, fixed seed) and malformed HTTP requests.
 * The node stays up, every bad frame gets an error frame with a documented code (or, for
 * oversized frames and invalid UTF-8, the documented close), and a bystander keeps receiving
 * every message in order throughout.
 */
import { connect as tcpConnect } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectClosingAfterEach, startTestNode, type TestNode } from '../support/node.ts';

const SEED = 20261125;
const PER_CATEGORY = 8_000;
const MAX_PAYLOAD = 16_384;
const DOCUMENTED = new Set(['invalid_frame', 'unknown_type', 'text_too_long', 'user_offline', 'rate_limited']);
const KNOWN_TYPES = new Set(['message', 'direct', 'list-users', 'watch', 'unwatch', 'ping', 'history']);

const notJson = fc.string({ maxLength: 200 }).filter((text) => {
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true; // the point of this arbitrary: only strings that are not JSON
  }
});
const nonObject = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.string(), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 })).map((v) => JSON.stringify(v));
const unknownType = fc
  .record({ type: fc.oneof(fc.string({ maxLength: 30 }).filter((t) => !KNOWN_TYPES.has(t)), fc.integer(), fc.constant(null), fc.array(fc.string())), text: fc.string() }, { requiredKeys: [] })
  .map((v) => JSON.stringify(v));
const badName = fc.oneof(fc.constant(''), fc.string({ maxLength: 70 }).filter((name) => !/^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$/.test(name)), fc.integer());
const notText = fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.array(fc.string()), fc.object({ maxDepth: 1 }), fc.constant('   '));
const control = fc.integer({ min: 0, max: 8 }).map((code) => `a${String.fromCharCode(code)}b`);
const wrongFields = fc
  .oneof(
    fc.record({ type: fc.constant('message'), text: fc.oneof(notText, control), cid: fc.string() }, { requiredKeys: ['type'] }),
    fc.record({ type: fc.constant('message'), text: fc.constant('ok'), cid: fc.oneof(fc.integer(), fc.constant(''), fc.string({ minLength: 129, maxLength: 200 })) }),
    fc.record({ type: fc.constant('direct'), to: badName, text: fc.string({ minLength: 1 }) }, { requiredKeys: ['type'] }),
    fc.record({ type: fc.constant('direct'), to: fc.constant('bob'), text: fc.oneof(notText, control) }),
    fc.record({ type: fc.constant('list-users'), limit: fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true }), fc.string()) }),
    fc.record({ type: fc.constant('list-users'), after: badName.filter((name) => name !== '' && name !== null) }),
    fc.record({ type: fc.constant('history'), before: fc.oneof(fc.integer({ max: 0 }), fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }), fc.string()) }),
    fc.record({ type: fc.constant('history'), with: badName.filter((name) => name !== null) }),
    fc.record({ type: fc.constantFrom('watch', 'unwatch'), users: fc.oneof(fc.constant([]), fc.string(), fc.array(badName, { minLength: 1, maxLength: 3 })) }, { requiredKeys: ['type'] }),
  )
  .map((v) => JSON.stringify(v));
const deep = fc.integer({ min: 100, max: 5_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
const binary = fc.uint8Array({ minLength: 0, maxLength: 300 });

/** Frames that must each be answered by exactly one error frame, the socket staying open. */
function refusedFrames(): Array<string | Uint8Array> {
  const frames: Array<string | Uint8Array> = [];
  for (const arbitrary of [notJson, nonObject, unknownType, wrongFields, deep, binary] as Array<fc.Arbitrary<string | Uint8Array>>) {
    frames.push(...fc.sample(arbitrary, { numRuns: PER_CATEGORY, seed: SEED }));
  }
  return fc.sample(fc.shuffledSubarray(frames, { minLength: frames.length }), { numRuns: 1, seed: SEED })[0]!;
}

/** Valid frames with extra fields, accepted as messages. */
function acceptedFrames(): string[] {
  return fc.sample(
    fc.record({ text: fc.string({ minLength: 1, maxLength: 50 }).filter((t) => t.trim() !== '' && !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/.test(t) && !/[\uD800-\uDFFF]/.test(t)), extra: fc.jsonValue({ maxDepth: 2 }) }),
    { numRuns: 2_000, seed: SEED },
  ).map(({ text, extra }, i) => JSON.stringify({ type: 'message', text, cid: `f-${i}`, extra }));
}

let node: TestNode;
const connect = connectClosingAfterEach(() => node);

function rawHttp(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => resolve(answer || 'reset'));
    socket.on('close', () => resolve(answer || 'closed'));
    socket.write(request, () => socket.end());
  });
}

describe('hostile input', () => {
  it('answers 50,000+ generated bad frames with error frames while a bystander gets every message in order', async () => {
    // This test fuzzes the frame parser, so the per-socket frame budget and the invalid-frame cap (which close such a
    // socket with 1008 after a few frames: test/e2e/budgets.test.ts) are turned off here.
    node = await startTestNode({
      CHAT_MAX_PAYLOAD: String(MAX_PAYLOAD),
      CHAT_RATE_PER_S: '1000000',
      CHAT_RATE_BURST: '1000000',
      CHAT_FRAME_RATE_PER_S: '0',
      CHAT_MAX_INVALID_FRAMES: '0',
      CHAT_LOG_LEVEL: 'warn',
    });
    const bystander = await connect('bystander');
    const speaker = await connect('speaker');
    let fuzzer = await connect('fuzzer');
    const refused = refusedFrames();
    const accepted = acceptedFrames();
    expect(refused.length + accepted.length).toBeGreaterThanOrEqual(50_000);

    let errors = 0;
    let spoken = 0;
    const BATCH = 1_000;
    for (let start = 0; start < refused.length; start += BATCH) {
      const batch = refused.slice(start, start + BATCH);
      const before = fuzzer.ofType('error').length;
      for (const frame of batch) fuzzer.socket.send(frame, { binary: typeof frame !== 'string' });
      for (const frame of accepted.slice(start / 20, (start + BATCH) / 20)) fuzzer.socket.send(frame);
      speaker.send({ type: 'message', text: `steady ${spoken}`, cid: `s-${spoken}` });
      spoken += 1;
      await fuzzer.sync();
      const answered = fuzzer.ofType('error').slice(before);
      expect(answered).toHaveLength(batch.length);
      for (const error of answered) expect(DOCUMENTED.has(error.code as string), String(error.code)).toBe(true);
      errors += answered.length;

      // The two closing cases: the node drops the connection, the fuzzer reconnects.
      if (start % 10_000 === 0) {
        fuzzer.socket.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
        expect((await fuzzer.waitClosed()).code).toBe(1006);
        fuzzer = await connect('fuzzer');
        fuzzer.send({ type: 'message', text: 'x'.repeat(MAX_PAYLOAD + 1) });
        expect((await fuzzer.waitClosed()).code).toBe(1006);
        fuzzer = await connect('fuzzer');
      }
    }
    expect(errors).toBe(refused.length);

    await bystander.next((frame) => frame.cid === `s-${spoken - 1}`);
    const received = bystander.ofType('receive');
    const ids = received.map((frame) => frame.id as number);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(received.filter((f) => String(f.cid).startsWith('s-')).map((f) => f.cid)).toEqual(Array.from({ length: spoken }, (_, i) => `s-${i}`));
    expect(received.filter((f) => String(f.cid).startsWith('f-')).length).toBe(Math.min(accepted.length, refused.length / 20));
  }, 120_000);

  it('survives malformed HTTP requests and keeps serving', async () => {
    node = await startTestNode({ CHAT_LOG_LEVEL: 'warn' });
    const bystander = await connect('bystander');
    const requests: Array<string | Buffer> = [
      'GET /%%% HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET /login/%ZZ HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /login/${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\n`,
      'GET /list-users HTTP/1.1\r\nHost: x\r\nCookie: session=%%%; ;;=; session\r\n\r\n',
      'GET /list-users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \u00ff\u00fe\r\n\r\n',
      'POST /auth/logout HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"bad":',
      'POST /auth/device/poll HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n\u0000\u0001\u0002\u0003\u0004',
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: nope\r\nSec-WebSocket-Version: 13\r\n\r\n',
      'BREW /coffee HTCPCP/1.0\r\n\r\n',
      Buffer.from(fc.sample(fc.uint8Array({ minLength: 1, maxLength: 2_000 }), { numRuns: 1, seed: SEED })[0]!),
      'GET / HTTP/1.1\r\n' + 'H: v\r\n'.repeat(500) + '\r\n',
    ];
    for (const request of requests) {
      const answer = await rawHttp(node.port, request);
      expect(answer.startsWith('HTTP/1.1 5'), answer.slice(0, 80)).toBe(false);
    }
    const generated = fc.sample(fc.string({ maxLength: 100 }), { numRuns: 300, seed: SEED });
    for (const path of generated) {
      const answer = await rawHttp(node.port, `GET /${encodeURI(path)} HTTP/1.1\r\nHost: x\r\nCookie: ${path.replace(/[\r\n]/g, '')}\r\n\r\n`);
      expect(answer.startsWith('HTTP/1.1 5'), answer.slice(0, 80)).toBe(false);
    }
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    bystander.send({ type: 'message', text: 'still alive' });
    expect(await bystander.nextOfType('receive')).toMatchObject({ text: 'still alive' });
  });
});
