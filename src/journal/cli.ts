/**
 * @module journal/cli
 * `npm run journal -- check <file>` and `npm run journal -- repair <file>` (docs/operations.md).
 * Exit codes: 0 the node starts on the file (check) or the repair is done; 1 the file has bad
 * records (check) or the repair could not run (e.g. a node holds the journal); 2 bad usage.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkJournal, repairJournal } from './repair.ts';
import { JournalLockedError } from './lock.ts';

export const USAGE = `Usage: npm run journal -- <check|repair> <journal file> [--json]

  check <file>   read every record; report the count, the first bad record's byte offset
                 and whether the node starts on the file (exit 0) or refuses (exit 1)
  repair <file>  with no node running on it: move everything from the first bad record on
                 into <file>.bad-<offset>-<time> (kept, never deleted), re-append the records
                 after it that still verify, raise the message sequence past anything lost and
                 revoke the sessions still open (their users log in again)
  --json         print the report as JSON

Exit codes: 0 startable / repaired, 1 bad records / repair refused, 2 bad usage.`;

export function runJournalCli(argv: string[], out: (text: string) => void, err: (text: string) => void): number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  } catch (error) {
    err(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const [command, path, ...extra] = positionals;
  if ((command !== 'check' && command !== 'repair') || !path || extra.length > 0) {
    err(USAGE);
    return 2;
  }
  if (!existsSync(path)) {
    err(`${path}: no such file`);
    return 2;
  }
  if (command === 'check') {
    const report = checkJournal(path);
    if (values.json) out(JSON.stringify(report));
    else {
      out(`${path}: ${report.bytes} bytes, ${report.records} records verify`);
      if (report.firstBad) out(`first bad record at byte ${report.firstBad.offset} (line ${report.firstBad.line}: ${report.firstBad.reason}); ${report.badLines} bad lines in all`);
      if (report.tornTail) out('the last line is torn (no newline): the node cuts it at start');
      out(report.startable ? 'the node starts on this file' : `the node refuses to start on this file: run npm run journal -- repair ${path}`);
    }
    return report.startable ? 0 : 1;
  }
  try {
    const report = repairJournal(path);
    if (values.json) out(JSON.stringify(report));
    else if (!report.aside) out(`${path}: no bad record; nothing to repair`);
    else {
      out(`${path}: kept ${report.keptRecords} records, re-appended ${report.salvagedRecords} that verified after the bad one`);
      out(`set aside ${report.lostLines} bad lines (${report.lostBytes} bytes) with everything after them in ${report.aside}`);
      out(`message sequence raised from ${report.seq.known} to ${report.seq.floor}; every session issued before the repair is refused, ${report.revokedSessions} more revoked by name (users log in again)`);
      out('sessions started in the lost bytes cannot be named: rotate CHAT_SESSION_SECRET to end them too (docs/operations.md)');
    }
    return 0;
  } catch (error) {
    if (!(error instanceof JournalLockedError)) throw error;
    err(`${error.message}: stop that node before repairing`);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = runJournalCli(process.argv.slice(2), (text) => process.stdout.write(`${text}\n`), (text) => process.stderr.write(`${text}\n`));
}
