/** Parses one typed line into a command: group text, `/dm`, `/users`, `/history`, `/help`, `x`, or a usage problem. */
import { isValidUsername } from '../domain/names.ts';

export type Command =
  | { kind: 'message'; text: string }
  | { kind: 'direct'; to: string; text: string }
  | { kind: 'users' }
  | { kind: 'history'; with?: string }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'empty' }
  | { kind: 'invalid'; problem: string };

export function parseCommand(line: string): Command {
  // A trailing \r comes from CRLF files piped in; it is not part of the message.
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim() === '') return { kind: 'empty' };
  if (text.trim() === 'x') return { kind: 'quit' };
  if (text.startsWith('//')) return { kind: 'message', text: text.slice(1) };
  if (!text.startsWith('/')) return { kind: 'message', text };
  const [name = '', ...rest] = text.slice(1).split(' ');
  switch (name) {
    case 'dm':
      return parseDirect(rest);
    case 'users':
      return { kind: 'users' };
    case 'history':
      return parseHistory(rest);
    case 'help':
      return { kind: 'help' };
    default:
      return { kind: 'invalid', problem: `unknown command /${name} (type /help; start a line with // to send it as text)` };
  }
}

function parseHistory(words: string[]): Command {
  const named = words.filter((word) => word !== '');
  if (named.length === 0) return { kind: 'history' };
  if (named.length > 1 || !isValidUsername(named[0])) return { kind: 'invalid', problem: 'usage: /history [user]' };
  return { kind: 'history', with: named[0] };
}

function parseDirect(words: string[]): Command {
  const to = words.find((word) => word !== '');
  const body = to === undefined ? '' : words.slice(words.indexOf(to) + 1).join(' ');
  if (to === undefined || body.trim() === '') return { kind: 'invalid', problem: 'usage: /dm <user> <text>' };
  return { kind: 'direct', to, text: body };
}
