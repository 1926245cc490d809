/**
 * @module runtime/awaiting-commits
 * Several nodes: a login, logout or name binding is answered only once the log committed it and this
 * node applied it (so the caller's next request, on any node, sees it) — or refused with the reason
 * (`name_taken`), or `unavailable` when the log could not take it or it did not come back in time.
 */
import { ChatError } from '../domain/errors.ts';
import type { Proposal } from '../engine/log.ts';
import type { CommitCommand } from './runtime.ts';

const UNAVAILABLE = 'the chat engine is unreachable; try again shortly';

export class AwaitingCommits {
  private readonly waiting = new Map<number, () => void>();

  /** `waitMs`: how long a committed proposal may take to come back from the log. */
  constructor(private readonly waitMs: number) {}

  async commit(command: CommitCommand, { origin, verdict }: Proposal): Promise<void> {
    const applied = new Promise<boolean>((resolve) => {
      this.waiting.set(origin.req, () => resolve(true));
      setTimeout(() => resolve(false), this.waitMs).unref();
    });
    const outcome = await verdict;
    if (outcome.status === 'refused') {
      this.waiting.delete(origin.req);
      if (outcome.code === 'name_taken') throw new ChatError('name_taken', `the name ${command.user} belongs to another account`);
      throw new ChatError('unavailable', `the log refused this (${outcome.code})`);
    }
    if (outcome.status === 'unavailable' || !(await applied)) {
      this.waiting.delete(origin.req);
      throw new ChatError('unavailable', UNAVAILABLE);
    }
  }

  /** This node applied the entry its request `req` proposed. */
  applied(req: number): void {
    this.waiting.get(req)?.();
    this.waiting.delete(req);
  }
}
