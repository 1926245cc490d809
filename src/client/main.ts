/** Entry point of the console client (`npm run client`, `actor-chat-client`): flags, terminal, exit code. */
import { USAGE, parseClientArgs, type ParsedArgs } from './args.ts';
import { ConsoleClient, Exit } from './client.ts';
import { Terminal } from './terminal.ts';

async function main(): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseClientArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`actor-chat-client: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return Exit.Usage;
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return Exit.Ok;
  }
  let client: ConsoleClient | undefined;
  const terminal = new Terminal(process.stdin, process.stdout, process.stderr, () => client?.interrupt());
  client = new ConsoleClient(parsed.options, terminal);
  process.once('SIGTERM', () => client?.interrupt());
  // On a TTY readline turns Ctrl-C into the interrupt above; with piped stdin it arrives as a signal.
  if (!terminal.interactive) process.on('SIGINT', () => client?.interrupt());
  const code = await client.run();
  terminal.close();
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`actor-chat-client: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(Exit.Failure);
  },
);
