/**
 * @module runtime/cluster-snapshot
 * Several nodes: the fold of the shared log as plain JSON, stored in Redis with the id of the entry it
 * covers, so a starting node reads the snapshot and only the entries after it, and the log can be
 * trimmed. It holds the chat state (sequence, revocations, bindings, cutoff — presence is rebuilt by the
 * actors), which nodes each user is attached to, the graces in progress with their epochs, the skipped
 * ids of a fenced rollback, and the history window's messages.
 */
import type { MessageEvent } from '../domain/events.ts';
import { toSnapshot, type StateSnapshot } from '../domain/snapshot.ts';
import type { ChatState } from '../domain/state.ts';
import { nameKey } from '../domain/names.ts';
import type { NodeId } from '../engine/events.ts';
import { compareIds } from '../engine/log.ts';
import type { Logger } from 'pino';
import type { MessageWindow } from '../journal/history.ts';
import type { SupervisorEvent } from '../machines/supervisor-types.ts';
import type { ClusterPresence } from './cluster-presence.ts';
import type { Grace } from './cluster-presence.ts';

/** The log's snapshot store (RedisLog). */
export interface SnapshotStore {
  loadSnapshot(): Promise<{ id: string; data: string } | undefined>;
  saveSnapshot(id: string, data: string): Promise<boolean>;
  /** The stored snapshot's id, without its data. */
  snapshotId(): Promise<string | undefined>;
  /** Trims below the newest snapshot, `windowFloor` and every live node's applied id; `heldBy`: the node behind that set the floor. */
  trim(windowFloor: string): Promise<{ removed: number; heldBy: { node: NodeId; at: string } | undefined }>;
}

export interface ClusterSnapshot {
  v: 1;
  chat: StateSnapshot;
  fencedTo: number;
  attached: Array<[NodeId, string[]]>;
  graces: Array<[string, Grace]>;
  messages: MessageEvent[];
}

export function writeSnapshot(parts: Omit<ClusterSnapshot, 'v' | 'chat'> & { chat: ChatState }): string {
  const chat = toSnapshot(parts.chat);
  // Presence and socket counts are the actors' to rebuild from `attached` and `graces`.
  const snapshot: ClusterSnapshot = { ...parts, v: 1, chat: { ...chat, presence: [], online: 0, sockets: [] } };
  return JSON.stringify(snapshot);
}

export function readSnapshot(data: string): ClusterSnapshot {
  const snapshot = JSON.parse(data) as Partial<ClusterSnapshot>;
  if (snapshot.v !== 1 || !snapshot.chat || !Array.isArray(snapshot.attached) || !Array.isArray(snapshot.graces) || !Array.isArray(snapshot.messages)) {
    throw new Error('the log snapshot is not one this node can read (version 1)');
  }
  return snapshot as ClusterSnapshot;
}

/** Puts the snapshot's sequence, revocations, bindings and cutoff into a fresh state (before the supervisor starts). */
export function restoreChat(into: ChatState, snapshot: ClusterSnapshot): void {
  into.seq = snapshot.chat.seq;
  for (const [sid, exp] of snapshot.chat.revoked) into.revoked.set(sid, exp);
  for (const [user, identity] of snapshot.chat.identities) into.identities.set(nameKey(user), { ...identity });
  into.sessionsCutoff = snapshot.chat.sessionsCutoff;
}

/**
 * The snapshot's messages into the window, and its attachments and graces stepped through the supervisor (`send`)
 * as the log's entries would be: a user attached somewhere is online; one in grace goes online for an instant, then
 * grace — with this node's full grace timer from now (its epoch and owner as the snapshot says).
 */
export function replaySnapshot(snapshot: ClusterSnapshot, presence: ClusterPresence, window: MessageWindow, send: (command: SupervisorEvent) => void): void {
  for (const message of snapshot.messages) window.push(message);
  for (const [node, users] of snapshot.attached) {
    for (const user of users) if (presence.attach(node, user)) send({ type: 'SOCKET_OPEN', user, sid: '', socket: 0 });
  }
  for (const [user, grace] of snapshot.graces) {
    send({ type: 'SOCKET_OPEN', user, sid: '', socket: 0 });
    send({ type: 'SOCKET_CLOSE', user, socket: 0 });
    presence.restoreGrace(user, grace);
  }
}

/** Where in an interval the stored snapshot's id is read (`Snapshots.peek`). */
const PEEKS = [1 / 2, 3 / 4, 7 / 8];

/** How many times a trim held back by a node behind is tried again (every `retryMs`, TTL/3) before the next snapshot's. */
const TRIM_RETRIES = 12;

/**
 * When to take snapshots and what to do with them: read the newest at start (retrying while Redis is
 * unreachable), save one every `every` applied entries, then trim the log below it and below the history
 * window. The trim script also never passes the applied id a live node published (a node listed up holds
 * the log at its position, however far behind, until it catches up or is declared down), nor the newest
 * snapshot (a cold start keeps presence and revocations). A held trim is tried again after the next
 * heartbeats (TTL/3), a bounded number of times. Only a node that was declared down and returns can find
 * a hole: it stops (restart it from the newest snapshot).
 */
export class Snapshots {
  private since = 0;
  private saving = false;
  /** The stored snapshot's id when this node last knew it (loaded, saved or skipped for it). */
  private seen: string | undefined;
  /** The stored snapshot's id as read in the background during this interval (`peek`), if it came back. */
  private peeked: string | undefined;
  /** Counts intervals (one per save or skip), so a late answer to an older `peek` is dropped. */
  private interval = 0;
  private retry: NodeJS.Timeout | undefined;
  /** Raised by every save and by stop(): a retry of an older trim that is still on its way ends there. */
  private trims = 0;

  constructor(
    private readonly store: SnapshotStore,
    private readonly logger: Logger,
    private readonly retryMs: number,
    private readonly every: number,
    /** The fold as it is now, serialized, and its oldest message id (called in the turn the last entry was applied). */
    private readonly write: () => { data: string; oldest: number | undefined },
  ) {}

  async load(stopping: () => boolean): Promise<{ id: string; snapshot: ClusterSnapshot } | undefined> {
    for (;;) {
      try {
        const found = await this.store.loadSnapshot();
        if (!found) return undefined;
        this.seen = found.id;
        this.logger.info({ id: found.id, bytes: found.data.length }, 'read the log snapshot');
        return { id: found.id, snapshot: readSnapshot(found.data) };
      } catch (error) {
        if (stopping()) return undefined;
        this.logger.warn({ err: error }, 'cannot read the log snapshot yet (Redis unreachable?); retrying');
        await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      }
    }
  }

  /** `count` entries were applied, the last one `id`: saves a snapshot once `every` of them went by. */
  applied(count: number, id: string): void {
    // The stored snapshot's id is read at 1/2, 3/4 and 7/8 of the interval: the latest answer before its end counts.
    for (const share of PEEKS) if (this.since < this.every * share && this.since + count >= this.every * share) this.peek();
    this.since += count;
    if (this.since >= this.every && !this.saving) void this.save(id);
  }

  /** No more trims (the node stops). */
  stop(): void {
    this.trims = Number.POSITIVE_INFINITY;
    clearTimeout(this.retry);
  }

  /** The stored snapshot's id, read in the background during each interval (the fold must be written in the turn of `id`). */
  private peek(): void {
    const interval = this.interval;
    this.store.snapshotId().then(
      (stored) => {
        if (interval === this.interval) this.peeked = stored; // an answer after this interval's end is stale
      },
      () => undefined, // unreachable Redis: this node saves, as before
    );
  }

  private async save(id: string): Promise<void> {
    // One saver per interval: if another node saved since this one last knew, this one's count starts again
    // from here instead (each save is a pause to serialize the history window and a large write for Redis).
    // Not known yet (the read still on its way): it saves, as every node did before.
    const stored = this.peeked;
    this.peeked = undefined;
    this.interval += 1;
    if (stored !== undefined && stored !== this.seen) {
      this.logger.debug({ id, stored }, 'another node saved a log snapshot in this interval: not saving this one');
      this.seen = stored;
      this.since = 0;
      return;
    }
    this.saving = true;
    this.since = 0;
    clearTimeout(this.retry);
    const trim = ++this.trims;
    try {
      const { data, oldest } = this.write();
      if (await this.store.saveSnapshot(id, data)) {
        this.seen = id;
        // Below this snapshot and the history window's first message; the script also stops at the slowest live node.
        const windowFloor = oldest === undefined || compareIds(id, `${oldest}-0`) < 0 ? id : `${oldest}-0`;
        const { removed, heldBy } = await this.store.trim(windowFloor);
        this.logger.info({ id, bytes: data.length, trimmed: removed, heldBy: heldBy?.node, heldAt: heldBy?.at }, 'saved the log snapshot and trimmed the log below it');
        if (heldBy) this.trimLater(trim, windowFloor, TRIM_RETRIES);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not save the log snapshot; trying again later');
    } finally {
      this.saving = false;
    }
  }

  /** A node behind held the trim back: again once the nodes have heartbeated (published their ids) again. */
  private trimLater(trim: number, windowFloor: string, tries: number): void {
    if (trim !== this.trims) return;
    this.retry = setTimeout(() => {
      if (trim !== this.trims) return;
      this.store.trim(windowFloor).then(
        ({ removed, heldBy }) => {
          if (removed > 0) this.logger.info({ trimmed: removed, heldBy: heldBy?.node, heldAt: heldBy?.at }, 'trimmed the log further: the nodes behind moved on');
          if (heldBy && tries > 1) this.trimLater(trim, windowFloor, tries - 1);
        },
        (error: unknown) => this.logger.debug({ err: error }, 'could not trim the log again; the next snapshot will'),
      );
    }, this.retryMs);
    this.retry.unref();
  }
}
