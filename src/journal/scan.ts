/**
 * @module journal/scan
 * Reads a journal file as a stream of lines, in fixed-size chunks: memory per record, not per
 * file, so a journal of any size starts. Classifies how the file ends:
 * - `clean`: every line verifies and ends with a newline;
 * - `torn`: only the last line lacks its newline (a partial final write): cut with a warning;
 * - `corrupt`: some complete line (in the middle, or the last one) fails its checksum or JSON: the
 *   node refuses to start and `npm run journal -- check|repair` takes over.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { decodeLine, type JournalRecord } from './codec.ts';

const CHUNK_BYTES = 1 << 20;

export type ScanEnd =
  | { kind: 'clean' }
  | { kind: 'torn'; offset: number; bytes: number }
  | { kind: 'corrupt'; offset: number; line: number; reason: string };

export interface ScanResult {
  /** Verified records before the first bad line. */
  records: number;
  /** Bytes of those records: where the valid prefix ends. */
  validBytes: number;
  totalBytes: number;
  end: ScanEnd;
}

export interface ScanLine {
  offset: number;
  /** Bytes of the line, its newline included. */
  bytes: number;
  /** The line without its newline. */
  text: string;
  /** Whether the line ended with a newline (false only for the last line of the file). */
  complete: boolean;
}

/** Every line of the file with its byte offset, read chunk by chunk (a line longer than a chunk is joined once). */
export function* readLines(path: string, from = 0): Generator<ScanLine> {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    // The start of a line that has not ended yet, in copies (`chunk` is reused by the next read).
    let partial: Buffer[] = [];
    let partialBytes = 0;
    let lineOffset = from;
    for (let position = from; ; ) {
      const read = readSync(fd, chunk, 0, CHUNK_BYTES, position);
      if (read === 0) break;
      position += read;
      const data = chunk.subarray(0, read);
      let start = 0;
      for (let end = data.indexOf(0x0a); end !== -1; end = data.indexOf(0x0a, start)) {
        const line = partialBytes === 0 ? data.subarray(start, end) : Buffer.concat([...partial, data.subarray(start, end)]);
        yield { offset: lineOffset, bytes: line.length + 1, text: line.toString('utf8'), complete: true };
        lineOffset += line.length + 1;
        partial = [];
        partialBytes = 0;
        start = end + 1;
      }
      if (start < read) {
        partial.push(Buffer.from(data.subarray(start)));
        partialBytes += read - start;
      }
    }
    if (partialBytes > 0) yield { offset: lineOffset, bytes: partialBytes, text: Buffer.concat(partial).toString('utf8'), complete: false };
  } finally {
    closeSync(fd);
  }
}

/** Streams the verified records to `onRecord` and reports how the file ends (stops at the first bad line). */
export function scanJournal(path: string, onRecord: (record: JournalRecord, offset: number) => void = () => {}): ScanResult {
  let records = 0;
  let validBytes = 0;
  let end: ScanEnd = { kind: 'clean' };
  for (const line of readLines(path)) {
    if (!line.complete) {
      end = { kind: 'torn', offset: line.offset, bytes: line.bytes };
      break;
    }
    const decoded = decodeLine(line.text);
    if ('bad' in decoded) {
      end = { kind: 'corrupt', offset: line.offset, line: records + 1, reason: decoded.bad };
      break;
    }
    onRecord(decoded.record, line.offset);
    records += 1;
    validBytes = line.offset + line.bytes;
  }
  return { records, validBytes, totalBytes: existsSync(path) ? statSync(path).size : 0, end };
}

/** The whole file's verified records in memory, for offline tools (replay); the node streams instead. */
export function readJournalFile(path: string): ScanResult & { events: JournalRecord[] } {
  const events: JournalRecord[] = [];
  return { ...scanJournal(path, (record) => events.push(record)), events };
}
