/**
 * @module engine/redis/resume
 * The steps every connection generation runs before its first append, in order: load the scripts,
 * check persistence (a loud warning when AOF is off), move this node's connection epoch (from then on
 * an append still travelling on an old connection is refused, so what follows is definitive), one
 * heartbeat, the rollback check (fence), resolving the appends that were in flight by their origin,
 * and reading the log's top (ready once the tail is past it) and how far the log was trimmed.
 */
import type { Logger } from 'pino';
import type { NodeId } from '../events.ts';
import type { Keys } from './codec.ts';
import { aofEnabled, loadScripts, runScript, type Connection } from './connection.ts';
import type { InFlight } from './in-flight.ts';
import { SCRIPTS } from './scripts.ts';
import { readStreamTop, type StreamTop } from './counters.ts';

export interface ResumeContext {
  connection: Connection;
  keys: Keys;
  node: NodeId;
  logger: Logger;
  /** The last entry this node applied and its raw origin (undefined: nothing applied by this process). */
  applied: { id: string; origin: string | undefined };
  inFlight: InFlight;
  beat(connection: Connection): Promise<void>;
}

export interface Resumed {
  /** This node's connection epoch for the new generation (the append script checks it). */
  epoch: string;
  /** The log's top once resumed. */
  top: StreamTop;
  /** Whether this node found a rollback and fenced it. */
  fenced: boolean;
  /** The newest entry a trim removed, if any (above this node's applied id: a hole in its copy). */
  trimmed: string | undefined;
}

export async function resumeGeneration(context: ResumeContext): Promise<Resumed> {
  const { connection, keys, node, logger, applied } = context;
  const commands = connection.commands;
  await loadScripts(commands, Object.values(SCRIPTS));
  if (!(await aofEnabled(commands))) {
    logger.warn(
      { node },
      'REDIS PERSISTENCE IS OFF (appendonly no): a Redis restart loses the chat log; nodes will fence the rollback, but acknowledged messages are gone. Set appendonly yes (appendfsync everysec or always).',
    );
  }
  const epoch = String(await commands.sendCommand<number>(['HINCRBY', keys.epochs, node, '1']));
  await context.beat(connection);
  let fenced = false;
  if (applied.origin !== undefined) {
    const [outcome, id, top] = await runScript<string[]>(connection, SCRIPTS.fence, [keys.log, keys.meta], [applied.id, applied.origin, node]);
    if (outcome === 'fenced') {
      fenced = true;
      logger.error({ node, applied: applied.id, top, fence: id }, 'the log rolled back: fenced, ids continue above every id this node saw');
    }
  }
  await context.inFlight.resolveUncertain(commands, keys.idem(node));
  const [top, trimmed] = await Promise.all([readStreamTop(commands, keys.log), commands.sendCommand<string | null>(['HGET', keys.snapshot, 'trimmed'])]);
  return { epoch, top, fenced, trimmed: trimmed ?? undefined };
}
