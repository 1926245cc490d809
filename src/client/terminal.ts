/**
 * The console itself: typed or piped lines in (in order, with EOF), printed lines out. On a TTY, incoming
 * lines are printed above the prompt without breaking what the user is typing.
 */
import { createInterface, type Interface } from 'node:readline';

export class Terminal {
  private readonly rl: Interface;
  private readonly lines: string[] = [];
  private waiters: Array<(line: string | undefined) => void> = [];
  private ended = false;
  readonly interactive: boolean;

  constructor(
    private readonly input: NodeJS.ReadableStream & { isTTY?: boolean },
    private readonly output: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly errorOutput: NodeJS.WritableStream,
    onInterrupt: () => void,
  ) {
    this.interactive = Boolean(input.isTTY && output.isTTY);
    this.rl = createInterface({ input, output, terminal: this.interactive, prompt: '' });
    this.rl.on('line', (line) => this.push(line));
    this.rl.on('close', () => this.end());
    this.rl.on('SIGINT', onInterrupt);
  }

  /** The next line, or undefined at end of input. */
  nextLine(): Promise<string | undefined> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Asks a question on a TTY; with piped input the next line is the answer. */
  async ask(question: string): Promise<string | undefined> {
    if (this.interactive) this.output.write(question);
    return this.nextLine();
  }

  setPrompt(prompt: string): void {
    this.rl.setPrompt(prompt);
    if (this.interactive) this.rl.prompt(true);
  }

  print(text: string): void {
    if (!this.interactive) {
      this.output.write(`${text}\n`);
      return;
    }
    // Clear the prompt line, print, then redraw the prompt with what was typed so far.
    this.output.write('\r\x1b[K');
    this.output.write(`${text}\n`);
    this.rl.prompt(true);
  }

  close(): void {
    if (this.interactive) this.output.write('\r\x1b[K'); // leave no dangling prompt behind
    this.rl.close();
  }

  /** A problem that ends the client (usage, refusal): on stderr, so piped transcripts stay clean. */
  fail(text: string): void {
    this.errorOutput.write(`${text}\n`);
  }

  private push(line: string): void {
    if (this.interactive) this.rl.prompt();
    const waiter = this.waiters.shift();
    if (waiter) waiter(line);
    else this.lines.push(line);
  }

  private end(): void {
    this.ended = true;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
