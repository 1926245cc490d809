import { describe, expect, it } from 'vitest';
import { connectClosingAfterEach, startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

let node: TestNode;
const connect = connectClosingAfterEach(() => node);

function value(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 'NaN');
}

describe('GET /metrics', () => {
  it('exposes connections, users by state, messages in and out, errors by code and journal latency in Prometheus format', async () => {
    node = await startTestNode({ CHAT_GRACE_MS: '60000' });
    const alice = await connect('alice');
    const bob = await connect('bob');
    await connect('carol');
    await bob.close();
    alice.send({ type: 'message', text: 'hi' });
    alice.send({ type: 'direct', to: 'carol', text: 'psst' });
    alice.send({ type: 'direct', to: 'nobody', text: '?' });
    alice.send('{"broken');
    await alice.sync();
    const response = await fetch(node.metricsUrl);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await response.text();
    expect(value(text, 'chat_connections')).toBe(2);
    expect(value(text, 'chat_users{state="online"}')).toBe(2);
    expect(value(text, 'chat_users{state="grace"}')).toBe(1);
    expect(value(text, 'chat_messages_in_total{kind="group"}')).toBe(1);
    expect(value(text, 'chat_messages_in_total{kind="direct"}')).toBe(1);
    expect(value(text, 'chat_messages_out_total{kind="group"}')).toBe(2);
    expect(value(text, 'chat_messages_out_total{kind="direct"}')).toBe(2);
    expect(value(text, 'chat_errors_total{code="user_offline"}')).toBe(1);
    expect(value(text, 'chat_errors_total{code="invalid_frame"}')).toBe(1);
    expect(value(text, 'chat_journal_append_seconds_count')).toBeGreaterThan(5);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('GET /readyz', () => {
  it('is ready while serving and not ready while draining', async () => {
    node = await startTestNode();
    expect(await (await fetch(`${node.url}/readyz`)).json()).toEqual({ ready: true });
    node.node.runtime.drain();
    const draining = await fetch(`${node.url}/readyz`);
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ ready: false });
    const { token } = await node.login('late').catch(() => ({ token: '' }));
    expect(token).toBe('');
  });
});

describe('connection limit', () => {
  it('refuses upgrades past CHAT_MAX_CONNECTIONS with 503 server_full', async () => {
    node = await startTestNode({ CHAT_MAX_CONNECTIONS: '2' });
    await connect('a');
    await connect('b');
    const refused = await TestClient.connect(node.wsUrl, bearer((await node.login('c').catch(() => ({ token: 'x' }))).token)).catch((e: { status: number; body: string }) => e);
    expect(refused).toMatchObject({ status: 503 });
    expect(JSON.parse((refused as { body: string }).body).error.code).toBe('server_full');
  });
});

describe('stopping', () => {
  it('is idempotent: a second stop resolves and the process goes on', async () => {
    node = await startTestNode();
    const first = node.node.stop();
    const second = node.node.stop();
    expect(second).toBe(first);
    await first;
  });
});
