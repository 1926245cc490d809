/**
 * @module transport/slow-consumers
 * The slow-consumer rule, one for live and replaying sockets: a socket whose send buffer passed
 * `CHAT_MAX_BACKPRESSURE` is closed; so is a socket still replaying missed messages whose buffer has not
 * drained for `CHAT_REPLAY_STALL_MS` (the replay pauses itself under half the limit, so without this rule a
 * reader that asks for a long replay and stops reading would hold its socket forever).
 */

export interface ReplayProgress {
  /** While replaying: the last id sent. Undefined once the socket follows live traffic. */
  cursor: number | undefined;
  /** When the replay last paused for a full send buffer with no drain since, epoch ms. */
  stalledSince: number | undefined;
}

export interface SlowConsumerRule {
  maxBackpressureBytes: number;
  replayStallMs: number;
}

export function isSlowConsumer(data: ReplayProgress, buffered: number, now: number, rule: SlowConsumerRule): boolean {
  if (buffered > rule.maxBackpressureBytes) return true;
  return data.cursor !== undefined && data.stalledSince !== undefined && now - data.stalledSince >= rule.replayStallMs;
}

/** The replay paused on a full buffer: the stall clock starts unless it already runs. */
export function replayPaused(data: ReplayProgress, now: number): void {
  data.stalledSince ??= now;
}

/** The socket drained some of its buffer: the reader is reading. */
export function replayDrained(data: ReplayProgress): void {
  data.stalledSince = undefined;
}
