/**
 * @module runtime/cluster-presence
 * What every node folds from the shared log besides the chat state: which nodes each user is attached
 * to, and for a user attached nowhere, the entry that started the grace (its epoch) and the node that
 * owns its expiry. The same rules as the append script (engine/redis/scripts.ts), so that every node's
 * picture equals the log's: a node's first attachment of a user counts once, a detach of a user the
 * node does not hold changes nothing, `NodeDown` detaches all of that node's users, a logout detaches
 * the user everywhere. Pure: the runtime turns each change it reports into a supervisor command.
 */
import type { NodeId } from '../engine/events.ts';

/** A grace in progress: started by log entry `epoch`; `owner` proposes its expiry first (the others later, as backups). */
export interface Grace {
  epoch: string;
  owner: NodeId;
}

export class ClusterPresence {
  private readonly byNode = new Map<NodeId, Set<string>>();
  private readonly byUser = new Map<string, Set<NodeId>>();
  private readonly graces = new Map<string, Grace>();

  /** Whether `user` is attached on `node`. */
  has(node: NodeId, user: string): boolean {
    return this.byNode.get(node)?.has(user) ?? false;
  }

  /** The users attached on `node` (a copy). */
  usersOf(node: NodeId): string[] {
    return [...(this.byNode.get(node) ?? [])];
  }

  graceOf(user: string): Grace | undefined {
    return this.graces.get(user);
  }

  /** `UserAttached`: true when it is new for that node (the user gains an attachment). */
  attach(node: NodeId, user: string): boolean {
    let users = this.byNode.get(node);
    if (!users) this.byNode.set(node, (users = new Set()));
    if (users.has(user)) return false;
    users.add(user);
    let nodes = this.byUser.get(user);
    if (!nodes) this.byUser.set(user, (nodes = new Set()));
    nodes.add(node);
    this.graces.delete(user);
    return true;
  }

  /**
   * `UserDetached` (or one user of a `NodeDown`) at log entry `id`, appended by `by`: true when the node held
   * the user. Attached nowhere after it: the user's grace starts, with this entry as its epoch.
   */
  detach(node: NodeId, user: string, id: string, by: NodeId): boolean {
    const users = this.byNode.get(node);
    if (!users?.delete(user)) return false;
    if (users.size === 0) this.byNode.delete(node);
    const nodes = this.byUser.get(user);
    nodes?.delete(node);
    if (!nodes || nodes.size === 0) {
      this.byUser.delete(user);
      this.graces.set(user, { epoch: id, owner: by });
    }
    return true;
  }

  /** `NodeDown`: the users the node held, each detached (their grace owned by the declaring node). */
  nodeDown(node: NodeId, id: string, by: NodeId): string[] {
    const users = this.usersOf(node);
    for (const user of users) this.detach(node, user, id, by);
    return users;
  }

  /** `GraceExpired` with this epoch: true when it ends the user's current grace (a stale one changes nothing). */
  expire(user: string, epoch: string): boolean {
    if (this.graces.get(user)?.epoch !== epoch) return false;
    this.graces.delete(user);
    return true;
  }

  /** Which nodes hold which users, for a snapshot. */
  attachments(): Array<[NodeId, string[]]> {
    return [...this.byNode].map(([node, users]) => [node, [...users]]);
  }

  graceEntries(): Array<[string, Grace]> {
    return [...this.graces].map(([user, grace]) => [user, { ...grace }]);
  }

  /** A grace read from a snapshot (the user is attached nowhere). */
  restoreGrace(user: string, grace: Grace): void {
    this.graces.set(user, { ...grace });
  }

  /** `SessionEnded`: a logout takes the user off every node at once (as the append script does). */
  logout(user: string): void {
    for (const node of this.byUser.get(user) ?? []) {
      const users = this.byNode.get(node);
      users?.delete(user);
      if (users?.size === 0) this.byNode.delete(node);
    }
    this.byUser.delete(user);
    this.graces.delete(user);
  }
}
