/**
 * @module runtime/grace-expiries
 * Several nodes: what a grace timer running out does. A user never listed (logged in, no socket on any
 * node) ends on this node alone. A listed user's expiry is proposed to the log as `GraceExpired` with the
 * grace's epoch: by the node that owns it (the one that appended the detach or the `NodeDown`) at the
 * deadline, by every other node one TTL later as a backup in case the owner died meanwhile. The log
 * applies the first and refuses the rest (stale); an expiry the log could not take is proposed again.
 */
import type { NodeId } from '../engine/events.ts';
import type { Verdict } from '../engine/log.ts';
import type { ClusterPresence } from './cluster-presence.ts';

export interface GraceExpiryDeps {
  node: NodeId;
  ttlMs: number;
  presence: ClusterPresence;
  /** The user actor's state value (connecting, online, grace), or undefined. */
  statusOf(user: string): string | undefined;
  endUnlisted(user: string): void;
  /** Proposes `GraceExpired`; undefined when the node is stopping. */
  propose(user: string, epoch: string): Promise<Verdict> | undefined;
}

export class GraceExpiries {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly deps: GraceExpiryDeps) {}

  graceOver(user: string): void {
    const status = this.deps.statusOf(user);
    if (status === 'connecting') return this.deps.endUnlisted(user);
    const grace = this.deps.presence.graceOf(user);
    if (status !== 'grace' || !grace) return;
    if (grace.owner === this.deps.node) this.propose(user, grace.epoch);
    else this.later(this.deps.ttlMs, () => this.propose(user, grace.epoch));
  }

  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private propose(user: string, epoch: string): void {
    if (this.deps.presence.graceOf(user)?.epoch !== epoch) return; // back online, or already expired
    void this.deps.propose(user, epoch)?.then((outcome) => outcome.status === 'unavailable' && this.later(this.deps.ttlMs / 3, () => this.propose(user, epoch)));
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }
}
