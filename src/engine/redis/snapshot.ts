/**
 * @module engine/redis/snapshot
 * The fold's snapshot in Redis and trimming the log below it. A snapshot is the fold serialized
 * after one entry (its `id`); the `snapshot` script replaces it only with a newer one. The `trim`
 * script cuts the stream below the lower of the snapshot's id and the history window's first id, so
 * a cold start (snapshot, then the tail after its id) and every resume inside the window read whole.
 */
import type { Keys } from './codec.ts';
import { runScript, type Connection, type RawClient } from './connection.ts';
import { SCRIPTS } from './scripts.ts';

/** The newest snapshot of the fold and the id of the last entry folded into it. */
export interface Snapshot {
  id: string;
  data: string;
}

/** Stores the snapshot if it is newer than the stored one; true if it did. */
export async function saveSnapshot(connection: Connection, keys: Keys, snapshot: Snapshot): Promise<boolean> {
  return (await runScript<number>(connection, SCRIPTS.snapshot, [keys.snapshot], [snapshot.id, snapshot.data])) === 1;
}

export async function readSnapshot(client: RawClient, keys: Keys): Promise<Snapshot | undefined> {
  const [id, data] = await client.sendCommand<Array<string | null>>(['HMGET', keys.snapshot, 'id', 'data']);
  return id && typeof data === 'string' ? { id, data } : undefined;
}

/** Trims below the lower of the snapshot's id and `windowFloor`; answers how many entries went. */
export async function trimLog(connection: Connection, keys: Keys, windowFloor: string): Promise<number> {
  return runScript<number>(connection, SCRIPTS.trim, [keys.log, keys.snapshot], [windowFloor]);
}
