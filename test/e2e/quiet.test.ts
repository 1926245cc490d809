/**
 * Quiet by default: `/metrics` is not served on the public listener without the bearer token (the
 * loopback metrics listener serves it), and the text of a direct message never reaches the log,
 * while group messages are printed as the proof of concept printed them.
 */
import { describe, expect, it } from 'vitest';
import { connectClosingAfterEach, startTestNode, type TestNode } from '../support/node.ts';

let node: TestNode;
const connect = connectClosingAfterEach(() => node);

describe('/metrics', () => {
  it('answers 404 on the public listener without credentials; the loopback metrics listener serves it', async () => {
    node = await startTestNode();
    const open = await fetch(`${node.url}/metrics`);
    expect(open.status).toBe(404);
    expect(await open.text()).not.toContain('chat_connections');
    expect(new URL(node.metricsUrl).hostname).toBe('127.0.0.1');
    const scraped = await fetch(node.metricsUrl);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('chat_connections');
    expect((await fetch(node.metricsUrl.replace('/metrics', '/login/alice'))).status).toBe(404);
  });

  it('is served on the public listener with the CHAT_METRICS_TOKEN bearer only', async () => {
    const token = 'metrics-token-0123456789abcdef';
    node = await startTestNode({ CHAT_METRICS_TOKEN: token });
    expect((await fetch(`${node.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${node.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(404);
    const scraped = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('chat_connections');
  });
});

describe('the log', () => {
  it('prints group messages and never the text of a direct message', async () => {
    node = await startTestNode();
    const alice = await connect('alice');
    const bob = await connect('bob');
    alice.send({ type: 'message', text: 'hello everyone', cid: 'g' });
    alice.send({ type: 'direct', to: 'bob', text: 'the secret is 42', cid: 'd' });
    await bob.next((frame) => frame.cid === 'd');
    await alice.next((frame) => frame.cid === 'd');
    expect(node.logs.some((line) => line.msg === 'alice: hello everyone')).toBe(true);
    const direct = node.logs.find((line) => line.to === 'bob');
    expect(direct).toMatchObject({ from: 'alice', to: 'bob', length: 16 });
    for (const line of node.logs) expect(JSON.stringify(line)).not.toContain('the secret is 42');
  });
});
