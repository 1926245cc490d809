/**
 * The console client's scrollback parts without a node: `/history [user]` parsing, `--history`,
 * the page's wording, and that live messages arriving before the history printed on connecting wait
 * for it; a request lost with its socket is asked again.
 */
import { describe, expect, it } from 'vitest';
import { parseClientArgs } from '../../src/client/args.ts';
import { parseCommand } from '../../src/client/commands.ts';
import type { Connection } from '../../src/client/connection.ts';
import { formatHistory } from '../../src/client/format.ts';
import type { HistoryFrame, ServerFrame } from '../../src/protocol/wire.ts';
import type { ClientFrame } from '../../src/client/frames.ts';
import { Scrollback } from '../../src/client/scrollback.ts';

const receive = (id: number, text: string) => ({ type: 'receive' as const, id, from: 'bob', text, ts: 0 });
const strip = (line: string): string => line.replace(/^\[\d\d:\d\d:\d\d\] /, '');

describe('console /history and --history', () => {
  it('parses /history with an optional user', () => {
    expect(parseCommand('/history')).toEqual({ kind: 'history' });
    expect(parseCommand('/history  bob ')).toEqual({ kind: 'history', with: 'bob' });
    expect(parseCommand('/history bob carol')).toEqual({ kind: 'invalid', problem: 'usage: /history [user]' });
    expect(parseCommand('/history -x')).toEqual({ kind: 'invalid', problem: 'usage: /history [user]' });
  });

  it('takes --history from 0 to 200, 20 by default', () => {
    const options = (args: string[]) => {
      const parsed = parseClientArgs(args);
      return parsed.help ? undefined : parsed.options.history;
    };
    expect(options([])).toBe(20);
    expect(options(['--history', '0'])).toBe(0);
    expect(options(['--history', '200'])).toBe(200);
    expect(() => parseClientArgs(['--history', '201'])).toThrow(/--history/);
    expect(() => parseClientArgs(['--history', 'all'])).toThrow(/--history/);
  });

  it('words a page by what lies before it', () => {
    const page = (over: Partial<HistoryFrame>): string[] => formatHistory({ type: 'history', messages: [receive(4, 'hi')], more: false, expired: false, ...over }).map(strip);
    expect(page({ more: true })).toEqual(['* 1 message; /history shows older ones', 'bob: hi']);
    expect(page({ with: 'bob', more: true })).toEqual(['* 1 message with bob; /history bob shows older ones', 'bob: hi']);
    expect(page({})).toEqual(['* 1 message; start of the conversation', 'bob: hi']);
    expect(page({ messages: [], expired: true })).toEqual(['* no older messages; older messages have expired']);
  });
});

describe('console scrollback', () => {
  function harness(onConnect: number) {
    const sent: ClientFrame[] = [];
    const printed: string[] = [];
    const connection = { whenReady: () => Promise.resolve(), send: (frame: ClientFrame) => (sent.push(frame), true) } as unknown as Connection;
    let cid = 0;
    const scrollback: Scrollback = new Scrollback({
      connection: () => connection,
      print: (line) => printed.push(strip(line)),
      nextCid: () => `c${++cid}`,
      onConnect,
      deliver: (frame: ServerFrame) => printed.push(`live ${(frame as { text: string }).text}`),
    });
    return { sent, printed, scrollback };
  }
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('prints the history on connecting before live messages that overtook it, and asks again when it was lost', async () => {
    const { sent, printed, scrollback } = harness(2);
    scrollback.welcome(41);
    await settle();
    expect(sent).toEqual([{ type: 'history', before: 42, limit: 2, cid: 'c1' }]);
    expect(scrollback.hold(receive(42, 'new'))).toBe(true);
    scrollback.lost(); // the socket dropped before the answer
    await settle();
    expect(sent).toHaveLength(2);
    expect(sent.at(-1)).toEqual({ type: 'history', before: 42, limit: 2, cid: 'c1' });
    const page: HistoryFrame = { type: 'history', before: 42, cid: 'c1', messages: [receive(40, 'a'), receive(41, 'b')], more: true, expired: false };
    expect(scrollback.answer('c1', { kind: 'page', frame: page })).toBe(true);
    await settle();
    expect(printed).toEqual(['* 2 messages; /history shows older ones', 'bob: a', 'bob: b', 'live new']);
    expect(scrollback.hold(receive(43, 'later'))).toBe(false);
    scrollback.welcome(50); // a resumed socket: no second greeting
    await settle();
    expect(sent).toHaveLength(2);

    const more = scrollback.show(undefined);
    await settle();
    expect(sent.at(-1)).toEqual({ type: 'history', before: 40, limit: 2, cid: 'c2' });
    scrollback.answer('c2', { kind: 'refused', error: { type: 'error', code: 'invalid_frame', message: 'no', cid: 'c2' } });
    await more;
    expect(printed.at(-1)).toBe('! invalid_frame: no');
  });
});
