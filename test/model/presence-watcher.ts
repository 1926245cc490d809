/**
 * The watcher's view in the model-based user tests: a second user's socket that sees presence
 * frames. `flushPresence` lets the node's presence batch go out (fake timers) and waits for it;
 * `lastSeenStatus` is the last status the watcher was told for a user.
 */
import { vi } from 'vitest';
import type { Frame, TestClient } from '../support/ws-client.ts';

export async function flushPresence(watcher: TestClient, flushMs: number): Promise<void> {
  vi.advanceTimersByTime(flushMs);
  await watcher.sync();
}

export function lastSeenStatus(watcher: TestClient, user: string): string {
  const changes = watcher
    .ofType('presence')
    .flatMap((frame: Frame) => frame.changes as Array<{ user: string; status: string }>)
    .filter((change) => change.user === user);
  return changes.at(-1)?.status ?? 'offline';
}
