/**
 * @module journal/lock
 * One writer per journal: an exclusive `flock(2)` (through fs-ext) on `<journal>.lock`, held for
 * the life of the process. The kernel drops it when the process dies, however it dies, so a crash
 * never leaves a stale lock. The lock is on a side file, not the journal, because compaction
 * renames a new file over the journal and a lock on the old inode would no longer guard the path.
 * The file's content (pid, host, time) only tells a refused second process who holds it.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { flockSync } from 'fs-ext';

export class JournalLockedError extends Error {
  override readonly name = 'JournalLockedError';
  readonly code = 'journal_locked';
  constructor(
    readonly path: string,
    readonly holder: string,
  ) {
    super(`${path} is in use by another process (${holder}); one node per journal file`);
  }
}

export interface JournalLock {
  readonly path: string;
  release(): void;
}

export function lockJournal(journalPath: string): JournalLock {
  const path = `${journalPath}.lock`;
  const fd = openSync(path, 'a+', 0o600);
  try {
    flockSync(fd, 'exnb');
  } catch (error) {
    closeSync(fd);
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') throw error;
    throw new JournalLockedError(journalPath, holderOf(path));
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `pid ${process.pid} on ${hostname()} since ${new Date().toISOString()}\n`, 0);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      closeSync(fd); // closing the last descriptor drops the flock
    },
  };
}

function holderOf(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim() || 'holder unknown';
  } catch {
    return 'holder unknown';
  }
}
