/**
 * @module engine/redis/in-flight
 * The appends of one `RedisLog` still waiting for a verdict, by request number (insertion order =
 * request order), and which of them are uncertain: sent on a connection that broke, so they may
 * have committed. The next generation resolves those by origin from the node's idempotency set.
 */
import type { Verdict } from '../log.ts';
import { parseVerdict } from './codec.ts';
import type { Connection } from './connection.ts';

export const UNAVAILABLE: Verdict = { status: 'unavailable' };

export class InFlight {
  /** Appends without a verdict yet, by request number (insertion order = request order). */
  private readonly pending = new Map<number, Array<(verdict: Verdict) => void>>();
  /** Appends whose connection broke after sending: they may have committed; resolved on reconnect. */
  private readonly uncertain = new Set<number>();

  /** The oldest request still waiting, if any. */
  lowest(): number | undefined {
    return this.pending.keys().next().value;
  }

  /** The verdict of request `req` (a retry of the same request waits for the same verdict). */
  wait(req: number): Promise<Verdict> {
    return new Promise<Verdict>((resolve) => {
      const waiting = this.pending.get(req);
      if (waiting) waiting.push(resolve);
      else this.pending.set(req, [resolve]);
    });
  }

  settle(req: number, verdict: Verdict): void {
    const waiting = this.pending.get(req);
    if (waiting === undefined) return;
    this.pending.delete(req);
    this.uncertain.delete(req);
    for (const resolve of waiting) resolve(verdict);
  }

  /** Answers every waiting append (on close). */
  settleAll(verdict: Verdict): void {
    for (const req of [...this.pending.keys()]) this.settle(req, verdict);
  }

  /** Request `req`, if still waiting, was sent on a connection that broke. */
  markUncertain(req: number): void {
    if (this.pending.has(req)) this.uncertain.add(req);
  }

  /** The connection broke: whatever was sent on it may have committed. */
  markAllUncertain(): void {
    for (const req of this.pending.keys()) this.uncertain.add(req);
  }

  /** Appends whose reply was lost: committed (the original verdict) or, the epoch having moved, never. */
  async resolveUncertain(commands: Connection['commands'], idemKey: string): Promise<void> {
    const reqs = [...this.uncertain];
    const found = await Promise.all(
      reqs.map((req) => commands.sendCommand<string[]>(['ZRANGEBYSCORE', idemKey, String(req), String(req), 'LIMIT', '0', '1'])),
    );
    reqs.forEach((req, index) => {
      const member = found[index]![0];
      this.uncertain.delete(req);
      this.settle(req, member === undefined ? UNAVAILABLE : parseVerdict(member.slice(String(req).length + 1)));
    });
  }
}
