/**
 * Snapshots of the fold keep the shared log short: every CHAT_SNAPSHOT_EVERY entries a node saves one
 * and trims the log below it and below the history window. A node started later reads the snapshot and
 * only the entries after it, and knows what the others know: the presence list (a user in grace stays
 * in grace, then goes offline), revocations, the message sequence and the history window for resume.
 */
import { describe, expect, it } from 'vitest';
import { useClusters } from '../support/cluster.ts';
import { connect, listUsers, login, messageIds, presenceOf } from '../support/cluster-clients.ts';
import { redisCli } from '../support/redis.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

const startCluster = useClusters();

describe('log snapshots', () => {
  it('trim the log, and a node started later knows presence, revocations, ids and history from the snapshot and the tail', { timeout: 90_000 }, async () => {
    // The grace outlasts starting a third node on a loaded machine (4 s did not, at load 8): `leaving` must still be in it then.
    const cluster = await startCluster({ nodes: 2, ttlMs: 3000, graceMs: 8000, env: { CHAT_SNAPSHOT_EVERY: '20', CHAT_HISTORY_MAX: '30', CHAT_RATE_PER_S: '1000', CHAT_RATE_BURST: '1000' } });
    const [a, b] = [cluster.node(0), cluster.node(1)];
    const annToken = await login(a, 'ann');
    const ann = await connect(a, annToken);
    const bo = await connect(b, await login(b, 'bo'));
    const gone = await login(a, 'gone');
    const leaving = await connect(b, await login(b, 'leaving'));
    // Paced (20 at a time, each batch seen across nodes before the next): snapshots and trims while messages flow.
    for (let batch = 0; batch < 5; batch++) {
      for (let i = 0; i < 20; i++) ann.send({ type: 'message', text: `m${batch * 20 + i}` });
      await bo.next((frame) => frame.type === 'receive' && frame.id === (batch + 1) * 20);
    }
    const loggedOut = await fetch(`${a.url}/logout/gone`, { headers: bearer(gone) });
    expect(loggedOut.status).toBe(200);
    await leaving.close();
    await presenceOf(ann, 'leaving', 'grace');
    // A few more entries, so that a snapshot is taken with `leaving` in grace.
    for (let i = 0; i < 25; i++) bo.send({ type: 'ping' });
    for (let i = 0; i < 20; i++) ann.send({ type: 'message', text: `n${i}` });
    await bo.next((frame) => frame.type === 'receive' && frame.id === 120);
    // Either node may be the one whose snapshots land (a snapshot replaces only an older one). A trim stops at the
    // other node's applied id as its last heartbeat published it; held, it is tried again after the next heartbeats.
    const trimmedLine = (line: Record<string, unknown>): boolean =>
      (line.msg === 'saved the log snapshot and trimmed the log below it' || line.msg === 'trimmed the log further: the nodes behind moved on') && (line.trimmed as number) > 0;
    await Promise.race([a, b].map((node) => node.process!.waitForLog(trimmedLine)));

    const kept = Number(redisCli(cluster.redis.port, 'XLEN', '{chat}:log'));
    const info = redisCli(cluster.redis.port, 'XINFO', 'STREAM', '{chat}:log').split('\n');
    const written = Number(info[info.indexOf('entries-added') + 1]);
    expect(kept).toBeLessThan(written);
    console.info(`log snapshots: ${kept} of ${written} entries kept in the stream`);

    const c = await cluster.add();
    await cluster.waitReady(c);
    expect(c.logs.some((line) => line.msg === 'started from the log snapshot')).toBe(true);
    const refused = await Promise.all([a, b, c].map((node) => listUsers(node, gone)));
    for (const list of refused) expect((list as { status: number }).status).toBe(401); // the revocation came with the snapshot
    const everywhere = await Promise.all([a, b, c].map((node) => listUsers(node, annToken)));
    expect(everywhere[2]).toEqual(everywhere[0]);
    expect((everywhere[2] as { body: { users: Array<{ name: string; status: string }> } }).body.users).toContainEqual({ name: 'leaving', status: 'grace' });

    // Resume on the new node from inside the window: exactly the messages after that id; then the next id goes on.
    const resumed = await TestClient.connect(`${c.wsUrl}?after=110`, bearer(annToken));
    await resumed.next((frame) => frame.type === 'receive' && frame.id === 120);
    expect(messageIds(resumed)).toEqual([111, 112, 113, 114, 115, 116, 117, 118, 119, 120]);
    resumed.send({ type: 'message', text: 'from the new node' });
    expect((await bo.next((frame) => frame.type === 'receive' && frame.text === 'from the new node')).id).toBe(121);
    // The grace restored from the snapshot ends on every node.
    const watcher = await connect(c, annToken);
    await presenceOf(watcher, 'leaving', 'offline');
  });
});
