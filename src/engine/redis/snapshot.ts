/**
 * @module engine/redis/snapshot
 * The fold's snapshot in Redis and trimming the log below it. A snapshot is the fold serialized
 * after one entry (its `id`); the `snapshot` script replaces it only with a newer one. The `trim`
 * script cuts the stream below the lowest of the snapshot's id, the history window's first id and the
 * applied id every node listed up published (liveness.ts), so a cold start (snapshot, then the tail
 * after its id), every resume inside the window and every live node's tail read whole.
 */
import type { Logger } from 'pino';
import type { NodeId } from '../events.ts';
import { splitId } from '../log.ts';
import type { Keys } from './codec.ts';
import { runScript, type Connection, type RawClient } from './connection.ts';
import { heartbeatCall } from './liveness.ts';
import { SCRIPTS } from './scripts.ts';

/** The newest snapshot of the fold and the id of the last entry folded into it. */
export interface Snapshot {
  id: string;
  data: string;
}

/** What a trim did: how many entries went, and the node that held it below the snapshot and the window. */
export interface TrimResult {
  removed: number;
  /** The node listed up whose published applied id was the floor, that id, and the floor without it. */
  heldBy: { node: NodeId; at: string; wanted: string } | undefined;
}

/** Stores the snapshot if it is newer than the stored one; true if it did. */
export async function saveSnapshot(connection: Connection, keys: Keys, snapshot: Snapshot): Promise<boolean> {
  return (await runScript<number>(connection, SCRIPTS.snapshot, [keys.snapshot], [snapshot.id, snapshot.data])) === 1;
}

/** The stored snapshot's id only (its data is large: the fold and the history window). */
export async function readSnapshotId(client: RawClient, keys: Keys): Promise<string | undefined> {
  return (await client.sendCommand<string | null>(['HGET', keys.snapshot, 'id'])) ?? undefined;
}

export async function readSnapshot(client: RawClient, keys: Keys): Promise<Snapshot | undefined> {
  const [id, data] = await client.sendCommand<Array<string | null>>(['HMGET', keys.snapshot, 'id', 'data']);
  return id && typeof data === 'string' ? { id, data } : undefined;
}

/** How long a node that read the snapshot before starting stays listed up without heartbeats (10 × TTL if longer). */
const START_HOLD_MS = 30_000;

/**
 * A starting node's read of the snapshot (over a short connection of its own, before its first
 * generation). It is listed up with the whole log held (`0-0`) before it reads, then holds at the
 * snapshot's id, so no trim can pass what it will tail from while it restores the fold. Its heartbeat
 * key lives START_HOLD_MS (longer than a restore takes); the first generation's heartbeat replaces it,
 * and if the process dies first it is declared down once the key expires, like any node.
 */
export async function registerThenRead(client: RawClient, keys: Keys, node: NodeId, ttlMs: number): Promise<Snapshot | undefined> {
  const holdMs = Math.max(START_HOLD_MS, 10 * ttlMs);
  const publish = async (appliedId: string): Promise<void> => {
    const call = heartbeatCall(keys, node, holdMs, appliedId);
    await client.sendCommand(['EVAL', SCRIPTS.heartbeat.source, String(call.keys.length), ...call.keys, ...call.args]);
  };
  await publish('0-0');
  const snapshot = await readSnapshot(client, keys);
  if (snapshot) await publish(snapshot.id);
  return snapshot;
}

/**
 * Trims below the lowest of the snapshot's id, `windowFloor` and every live node's published applied
 * id, first publishing the trimming node's own; logs (debug) when a node behind held it back.
 */
export async function trimLog(connection: Connection, keys: Keys, windowFloor: string, by: { node: NodeId; appliedId: string; logger: Logger }): Promise<TrimResult> {
  const [removed, holder, at, wanted] = await runScript<[number, string, string, string]>(
    connection, SCRIPTS.trim, [keys.log, keys.snapshot, keys.nodes, keys.applied], [windowFloor, by.node, by.appliedId],
  );
  if (!holder) return { removed, heldBy: undefined };
  // Ids are `<message id>-<n>`: the difference of the first parts is how many messages the node holds in the log.
  const messages = splitId(wanted)[0] - splitId(at)[0];
  by.logger.debug({ node: by.node, holder, at, wanted, messages, removed }, 'log trim held back by a node behind');
  return { removed, heldBy: { node: holder, at, wanted } };
}
