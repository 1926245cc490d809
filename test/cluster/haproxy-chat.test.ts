/**
 * Three real nodes on one real Redis behind Debian's HAProxy running `deploy/haproxy.cfg` verbatim
 * (test/support/haproxy.ts): clients spread over the nodes with no stickiness and chat as one (same
 * ids, same order, one presence list); a node killed with SIGKILL is taken out by the `/readyz` health
 * check, its clients reconnect through HAProxy to the others and resume with `?after=` losing nothing,
 * shown in `grace`, never `offline`. HAProxy's log names the node each request went to. The
 * configuration itself (balancing, health checks, client addresses): test/cluster/haproxy.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { post, presenceOf, receivedIds, statuses, until, useChatThroughHaproxy, type Online } from '../support/chat-through-haproxy.ts';

const { start, login, connect } = useChatThroughHaproxy();
const USERS = ['ada', 'bob', 'cy', 'dee', 'eve', 'fay'];

describe('several nodes behind HAProxy (deploy/haproxy.cfg)', () => {
  it('spreads clients over every node with no stickiness, and they chat as one', { timeout: 90_000 }, async () => {
    await start();
    const online: Online[] = [];
    for (const user of USERS) online.push(await connect(user, await login(user)));
    const servers = online.map((entry) => entry.server);
    console.log(`sockets per server: ${JSON.stringify(Object.fromEntries(['node1', 'node2', 'node3'].map((name) => [name, servers.filter((server) => server === name).length])))}`);
    expect(new Set(servers)).toEqual(new Set(['node1', 'node2', 'node3']));

    // One presence list: every socket, whichever node it is on, ends up seeing all six users online.
    await Promise.all(online.map(({ client, user }) => until(client, () => USERS.every((other) => statuses(client).get(other) === 'online'), `${user} to see all six users online`)));

    // Everyone posts five messages at once; every socket receives all thirty, with the same ids in the same order.
    for (let round = 0; round < 5; round++) for (const entry of online) entry.client.send({ type: 'message', text: `${entry.user} says ${round}`, cid: `${entry.user}-${round}` });
    await Promise.all(online.map(({ client, user }) => until(client, () => client.ofType('receive').length >= 30, `${user} to receive 30 messages`)));
    const reference = online[0]!.client.ofType('receive').map((frame) => `${frame.id} ${frame.from} ${frame.text}`);
    for (const { client } of online) {
      expect(client.ofType('receive').map((frame) => `${frame.id} ${frame.from} ${frame.text}`)).toEqual(reference);
      const ids = receivedIds(client);
      expect(ids.every((id, index) => index === 0 || id > ids[index - 1]!)).toBe(true);
    }
    expect(new Set(reference.map((line) => line.split(' ')[2]))).toEqual(new Set(USERS));
  });

  it('takes a killed node out by its health check; its clients resume on the others through HAProxy, losing nothing', { timeout: 90_000 }, async () => {
    const { cluster, lb } = await start();
    const online: Online[] = [];
    for (const user of USERS) online.push(await connect(user, await login(user)));
    await Promise.all(online.map(({ client, user }) => until(client, () => USERS.every((other) => statuses(client).get(other) === 'online'), `${user} to see all six users online`)));
    const sender = online[0]!;
    const victim = ['node1', 'node2', 'node3'].find((server) => server !== sender.server && online.some((entry) => entry.server === server))!;
    const gone = online.filter((entry) => entry.server === victim);
    const staying = online.filter((entry) => entry.server !== victim);

    await post(sender, online, 10, 'before');
    for (const entry of gone) await post(entry, online, 2, `${entry.user}-before`);

    const killedAt = Date.now();
    const mark = lb.lines.length;
    await cluster.kill(cluster.nodes.find((node) => node.name === victim)!);
    for (const entry of gone) expect((await entry.client.waitClosed()).code).toBe(1006);
    await lb.serverDown(victim, mark);
    const downAfter = Date.now() - killedAt;

    // The survivors declare the dead node down: its users go to grace (not offline) for everyone left.
    await Promise.all(staying.map(({ client, user }) => until(client, () => gone.every((entry) => statuses(client).get(entry.user) === 'grace'), `${user} to see the dead node's users in grace`)));
    const graceAfter = Date.now() - killedAt;
    await post(sender, staying, 10, 'while-away');

    // Each client of the dead node reconnects through HAProxy, resuming after the last id it saw.
    const resumed: Online[] = [];
    for (const entry of gone) resumed.push(await connect(entry.user, entry.token, Math.max(...receivedIds(entry.client))));
    const resumedAfter = Date.now() - killedAt;
    for (const entry of resumed) expect(entry.server).not.toBe(victim);
    const last = await post(sender, [...staying, ...resumed], 10, 'after');

    const all = receivedIds(sender.client);
    expect(all.at(-1)).toBe(last);
    gone.forEach((entry, index) => {
      const seen = [...receivedIds(entry.client), ...receivedIds(resumed[index]!.client)];
      expect(seen).toEqual(all); // every message exactly once, in order, across the two connections
    });
    for (const { client } of staying) {
      await until(client, () => gone.every((entry) => statuses(client).get(entry.user) === 'online'), 'the resumed users online again');
      for (const entry of gone) expect(presenceOf(client, entry.user)).not.toContain('offline');
    }
    console.log(`killed ${victim} (${gone.length} sockets): HAProxy marked it DOWN after ${downAfter} ms, its users in grace after ${graceAfter} ms, all resumed elsewhere after ${resumedAfter} ms; ${all.length} messages, none lost or repeated`);
  });
});
