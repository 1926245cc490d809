/**
 * @module machines/placement
 * Where each user's actor lives: a shard and a slot in it (the slot number is the actor's id there).
 * Pure bookkeeping, no XState: the supervisor asks it for a place when it spawns a user actor and
 * gives the place back when the actor ends. Shards fill up one at a time; a freed slot is reused
 * before a new shard is opened, so the number of shards follows the peak number of live users.
 * Every operation is O(1) in the number of users.
 */

/** Where a user's actor lives: its shard and its slot there. */
export interface Place {
  shard: number;
  slot: number;
}

/** A place handed out by `take`; `opened` is true when the shard is new (the caller spawns it). */
export interface Taken extends Place {
  opened: boolean;
}

export class Placements {
  /** Users with a live actor → where it lives. */
  private readonly places = new Map<string, Place>();
  /** Live user actors per shard. */
  private readonly load: number[] = [];
  /** Free slots per shard, the lowest last (popped first). */
  private readonly free: number[][] = [];
  /** Shards with room, the one to fill next last. */
  private readonly open: number[] = [];

  constructor(readonly shardSize: number) {
    if (!Number.isInteger(shardSize) || shardSize < 1) throw new RangeError(`shard size must be a positive integer, got ${shardSize}`);
  }

  /** Users with a live actor. */
  get size(): number {
    return this.places.size;
  }

  /** Shards opened so far (a shard is never closed: its actor stays, empty, until the node stops). */
  get shards(): number {
    return this.load.length;
  }

  has(user: string): boolean {
    return this.places.has(user);
  }

  get(user: string): Place | undefined {
    return this.places.get(user);
  }

  users(): IterableIterator<string> {
    return this.places.keys();
  }

  /** Live actors in a shard. */
  loadOf(shard: number): number {
    return this.load[shard] ?? 0;
  }

  /** A place for a user who has none: in the last shard with room, or in a new shard when all are full. */
  take(user: string): Taken {
    if (this.places.has(user)) throw new Error(`placement: ${user} already has an actor`);
    let shard = this.open[this.open.length - 1];
    const opened = shard === undefined;
    if (shard === undefined) {
      shard = this.load.length;
      this.load.push(0);
      this.free.push(Array.from({ length: this.shardSize }, (_, i) => this.shardSize - 1 - i));
      this.open.push(shard);
    }
    const slot = this.free[shard]!.pop()!;
    this.places.set(user, { shard, slot });
    const load = this.load[shard]! + 1;
    this.load[shard] = load;
    if (load === this.shardSize) this.open.pop();
    return { shard, slot, opened };
  }

  /** Gives the user's place back; undefined when the user had none (already released, or never placed). */
  release(user: string): Place | undefined {
    const place = this.places.get(user);
    if (place === undefined) return undefined;
    this.places.delete(user);
    this.free[place.shard]!.push(place.slot);
    const load = this.load[place.shard]! - 1;
    this.load[place.shard] = load;
    if (load === this.shardSize - 1) this.open.push(place.shard);
    return place;
  }
}
