/**
 * The proof of concept's console client as it was written (python-socketio and requests, Debian's
 * packages on /usr/bin/python3): two of them chat through the node, over long-polling upgraded to
 * WebSocket and over WebSocket only, with a /ws client in the same conversation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node.ts';
import { ClientProcess } from '../support/client-process.ts';
import type { TestClient } from '../support/ws-client.ts';

let node: TestNode;
const processes: ClientProcess[] = [];
let watcher: TestClient | undefined;

afterEach(async () => {
  for (const child of processes.splice(0)) child.kill();
  await watcher?.close();
  watcher = undefined;
  await node.close();
});

async function python(name: string, mode: string[], steps: RegExp[]): Promise<ClientProcess> {
  const child = ClientProcess.startPython([node.url, ...mode], { ENGINEIO_LOG: '1' });
  processes.push(child);
  child.write(name);
  expect(await child.waitFor(/^name: connected via /, 15_000)).toBe('name: connected via websocket');
  for (const step of steps) expect(child.stderr).toMatch(step);
  return child;
}

describe.each([
  {
    mode: [] as string[],
    steps: [/Attempting polling connection/, /WebSocket upgrade was successful/],
    label: 'long-polling, then upgraded to WebSocket',
  },
  { mode: ['websocket'], steps: [/Attempting WebSocket connection/], label: 'WebSocket only' },
])('the original Python client, $label', ({ mode, steps }) => {
  it('two of them chat through the node, and a /ws client sees the same ids', async () => {
    node = await startTestNode({ CHAT_LOG_LEVEL: 'warn' });
    watcher = await node.connect('watcher');
    const ana = await python('ana', mode, steps);
    const ben = await python('ben', mode, steps);
    ana.write('hello ben');
    await ben.waitFor(/^ana: hello ben \(#1\)$/);
    await ana.waitFor(/^ana: hello ben \(#1\)$/); // everyone gets the group message, the sender too
    ben.write('hi ana, how are you?');
    await ana.waitFor(/^ben: hi ana, how are you\? \(#2\)$/);
    const second = await watcher.next((frame) => frame.type === 'receive' && frame.id === 2);
    expect(second).toMatchObject({ from: 'ben', text: 'hi ana, how are you?' });
    expect(watcher.ofType('receive').map((frame) => [frame.id, frame.from])).toEqual([[1, 'ana'], [2, 'ben']]);
    ana.write('x');
    ben.write('x');
    expect(await ana.exited).toBe(0);
    expect(await ben.exited).toBe(0);
  });
});
