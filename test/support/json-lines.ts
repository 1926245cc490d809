/**
 * JSON lines as a test reads them from a process's stdout or a pino stream: written in chunks of any
 * size (a line cut between chunks waits for its end), each kept in order, and a wait for the first
 * line a match accepts (one already seen answers at once).
 */
export type JsonLine = Record<string, unknown>;

export class JsonLines {
  readonly lines: JsonLine[] = [];
  private pending = '';
  private readonly waiters: Array<{ match: (line: JsonLine) => boolean; resolve: (line: JsonLine) => void }> = [];

  /** `skipOtherLines`: pass over lines that are not a JSON object (a process's own prints); otherwise such a line throws. */
  constructor(private readonly options: { skipOtherLines?: boolean } = {}) {}

  write(chunk: Buffer | string): void {
    const parts = (this.pending + chunk.toString()).split('\n');
    this.pending = parts.pop()!;
    for (const text of parts) {
      if (text === '' || (this.options.skipOtherLines && !text.startsWith('{'))) continue;
      const line = JSON.parse(text) as JsonLine;
      this.lines.push(line);
      for (const waiter of this.waiters.filter((candidate) => candidate.match(line))) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  }

  /** The first line `match` accepts, past or future. */
  waitFor(match: (line: JsonLine) => boolean): Promise<JsonLine> {
    const seen = this.lines.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}
