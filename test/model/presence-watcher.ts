/**
 * The model-based user tests' check of a real node against the model: `expectBobAsModelled` lets the
 * node's presence batch go out (fake timers), then compares what the watcher (a second user's socket
 * that sees presence frames) last saw of bob, bob's live user actor and his open sockets with a model
 * snapshot.
 */
import { expect, vi } from 'vitest';
import type { TestNode } from '../support/node.ts';
import type { Frame, TestClient } from '../support/ws-client.ts';
import { expectedStatus, type UserSnapshot } from './user-paths.ts';

async function flushPresence(watcher: TestClient, flushMs: number): Promise<void> {
  vi.advanceTimersByTime(flushMs);
  await watcher.sync();
}

function lastSeenStatus(watcher: TestClient, user: string): string {
  const changes = watcher
    .ofType('presence')
    .flatMap((frame: Frame) => frame.changes as Array<{ user: string; status: string }>)
    .filter((change) => change.user === user);
  return changes.at(-1)?.status ?? 'offline';
}

/**
 * Lets the presence batch out, then asserts what `node` shows of bob against the model's `snapshot`: the
 * status the watcher last saw, then (given `alsoCheck`) any further view of that status, then bob's live
 * user actor and the sockets the node counts for him.
 */
export async function expectBobAsModelled(
  node: TestNode,
  watcher: TestClient,
  snapshot: UserSnapshot,
  flushMs: number,
  alsoCheck?: (status: string) => Promise<void>,
): Promise<void> {
  await flushPresence(watcher, flushMs);
  const status = expectedStatus(snapshot);
  expect(lastSeenStatus(watcher, 'bob'), 'presence seen by the watcher').toBe(status);
  await alsoCheck?.(status);
  const actor = node.node.runtime.userActorState('bob');
  expect(actor ?? 'offline', 'the live user actor').toBe(snapshot.status === 'done' ? 'offline' : String(snapshot.value));
  expect(node.node.runtime.state.sockets.get('bob') ?? 0, 'open sockets').toBe(snapshot.context.sockets);
}
