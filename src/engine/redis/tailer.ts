/**
 * @module engine/redis/tailer
 * Reads the log in order on its own connection: `XREAD BLOCK` from the last applied id, again and
 * again, handing each batch of committed entries on. Live delivery and resume read the same log.
 * It stops when its connection generation ends (the RedisLog resumes from the last applied id on
 * the next one) and reports each reply's time so a stalled link is noticed.
 */
import type { Committed } from '../log.ts';
import { parseEntry } from './codec.ts';
import type { RawClient } from './connection.ts';

/** XREAD's RESP2 reply: null on timeout, else `[[key, [[id, [field, value, …]], …]]]`. */
type XReadReply = null | Array<[string, Array<[string, string[]]>]>;

export interface TailOptions {
  client: RawClient;
  key: string;
  /** Read entries after this id. */
  after: () => string;
  blockMs: number;
  batch: number;
  /** False once this generation is over. */
  running: () => boolean;
  onEntries: (entries: Committed[]) => void;
  onReply: () => void;
  /** The read failed (`link`), or an entry could not be parsed (`unreadable_entry`): the tail stops. */
  onError: (error: Error, kind: 'link' | 'unreadable_entry') => void;
}

export async function tail(options: TailOptions): Promise<void> {
  const { client, key, blockMs, batch } = options;
  while (options.running()) {
    let raw: Array<[string, string[]]>;
    try {
      raw = entriesOf(await client.sendCommand<XReadReply>(['XREAD', 'COUNT', String(batch), 'BLOCK', String(blockMs), 'STREAMS', key, options.after()]));
      if (!options.running()) return;
      options.onReply();
      // A blocked XREAD is answered by the first XADD; appends pipelined with it (one client's burst, one
      // node's proposals of one turn) commit right after. One read without BLOCK collects them, so the
      // burst is delivered in one turn: one publish round to the sockets instead of two.
      if (raw.length > 0 && raw.length < batch) {
        const more = entriesOf(await client.sendCommand<XReadReply>(['XREAD', 'COUNT', String(batch - raw.length), 'STREAMS', key, raw[raw.length - 1]![0]]));
        if (!options.running()) return;
        raw = raw.concat(more);
      }
    } catch (error) {
      if (options.running()) options.onError(error as Error, 'link');
      return;
    }
    if (raw.length === 0) continue;
    const entries: Committed[] = [];
    for (const [id, fields] of raw) {
      try {
        entries.push(parseEntry(id, fields));
      } catch (error) {
        // An entry no node can read would stop every node at the same place: fail loudly instead.
        options.onError(new Error(`unreadable log entry ${id}: ${(error as Error).message}`, { cause: error }), 'unreadable_entry');
        return;
      }
    }
    options.onEntries(entries);
  }
}

function entriesOf(reply: XReadReply): Array<[string, string[]]> {
  return reply?.[0]?.[1] ?? [];
}
