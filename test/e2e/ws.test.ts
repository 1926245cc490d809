import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../support/node.ts';
import { TestClient, bearer } from '../support/ws-client.ts';

let node: TestNode;
const clients: TestClient[] = [];

async function connect(user: string, query = ''): Promise<TestClient> {
  const { token } = await node.login(user);
  const client = await TestClient.connect(`${node.wsUrl}${query}`, bearer(token));
  clients.push(client);
  return client;
}

beforeEach(async () => {
  node = await startTestNode({ CHAT_PRESENCE_FLUSH_MS: '5' });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await node.close();
});

describe('websocket /ws', () => {
  it('greets with a welcome frame listing the user', async () => {
    const alice = await connect('alice');
    const welcome = await alice.nextOfType('welcome');
    expect(welcome).toMatchObject({ type: 'welcome', user: 'alice', seq: 0, online: 1, truncated: false });
    expect(welcome.users).toEqual([{ name: 'alice', status: 'online' }]);
  });

  it('delivers a group message to every socket, the sender included, with its cid', async () => {
    const alice = await connect('alice');
    const bob = await connect('bob');
    alice.send({ type: 'message', text: 'hi all', cid: 'c-1' });
    const atAlice = await alice.nextOfType('receive');
    const atBob = await bob.nextOfType('receive');
    expect(atAlice).toMatchObject({ id: 1, from: 'alice', text: 'hi all', cid: 'c-1' });
    expect(atBob).toEqual(atAlice);
    expect(typeof atAlice.ts).toBe('number');
  });
});
