/** Turns incoming frames and client events into the lines the console prints. */
import type { DirectFrame, ErrorFrame, HistoryFrame, HistoryGapFrame, PresenceFrame, PresenceStatus, ReceiveFrame, UserEntry, WelcomeFrame } from '../protocol/wire.ts';

const STATUS_WORD: Record<PresenceStatus, string> = { online: 'online', grace: 'away', offline: 'offline' };

/** `HH:MM:SS` in the local time zone. */
export function clock(ts: number): string {
  const date = new Date(ts);
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((part) => String(part).padStart(2, '0')).join(':');
}

/** `[12:00:01] alice: hi` */
export function formatReceive(frame: ReceiveFrame): string {
  return `[${clock(frame.ts)}] ${frame.from}: ${frame.text}`;
}

/** `[12:00:01] alice → bob: hi` */
export function formatDirect(frame: DirectFrame): string {
  return `[${clock(frame.ts)}] ${frame.from} → ${frame.to}: ${frame.text}`;
}

/** One line per change: `* bob is online`, `* bob is away`, `* bob is offline`. */
export function formatPresence(frame: PresenceFrame): string[] {
  return frame.changes.map((change) => `* ${change.user} is ${STATUS_WORD[change.status] ?? change.status}`);
}

/** `! user_offline: bob is offline` */
export function formatError(frame: Pick<ErrorFrame, 'code' | 'message'>): string {
  return `! ${frame.code}: ${frame.message}`;
}

/** `alice, bob (away)`: who is listed, grace shown as away. */
export function formatUserList(users: UserEntry[]): string {
  return users.map((user) => (user.status === 'online' ? user.name : `${user.name} (${STATUS_WORD[user.status] ?? user.status})`)).join(', ');
}

/** `* 2 online, 1 away: alice, bob, carol (away)` (users in grace are listed but not counted online). */
export function formatUsers(users: UserEntry[], online: number): string {
  const away = users.filter((user) => user.status === 'grace').length;
  return `* ${online} online${away > 0 ? `, ${away} away` : ''}: ${formatUserList(users)}`;
}

/** The greeting on the first connection, or a short note on each resumed one. */
export function formatWelcome(frame: WelcomeFrame, resumedAfter: number | undefined): string {
  if (resumedAfter !== undefined) return `* reconnected as ${frame.user}, catching up after message #${resumedAfter}`;
  const more = frame.truncated ? ` and more (/users lists everyone)` : '';
  return `* connected as ${frame.user}; ${frame.online} online: ${formatUserList(frame.users)}${more}. Type /help for commands.`;
}

/** Ids strictly between `after` and `oldest` fell out of the node's history window before we got back. */
export function formatHistoryGap(frame: HistoryGapFrame): string {
  const first = frame.after + 1;
  const last = frame.oldest > 0 ? frame.oldest - 1 : undefined;
  const range = last === undefined ? `from #${first}` : first === last ? `#${first}` : `#${first}–#${last}`;
  return `! history_gap: messages ${range} were too old to recover`;
}

/**
 * A page of older messages: a line saying what it is and whether older ones exist, then the messages
 * as they were printed live. `* 20 messages; /history shows older ones`, `* 3 messages with bob; start of
 * the conversation`, `* 5 messages; older messages have expired`.
 */
export function formatHistory(frame: HistoryFrame): string[] {
  const count = frame.messages.length;
  const where = frame.with === undefined ? '' : ` with ${frame.with}`;
  const next = frame.more
    ? `/history${frame.with === undefined ? '' : ` ${frame.with}`} shows older ones`
    : frame.expired
      ? 'older messages have expired'
      : 'start of the conversation';
  const what = count === 0 ? 'no older messages' : count === 1 ? '1 message' : `${count} messages`;
  const lines = [`* ${what}${where}; ${next}`];
  for (const message of frame.messages) lines.push(message.type === 'receive' ? formatReceive(message) : formatDirect(message));
  return lines;
}

export const HELP = [
  'Commands:',
  '  <text>              send <text> to everyone',
  '  /dm <user> <text>   send <text> to <user> only',
  '  /users              list who is online',
  '  /history [user]     older group messages, or of your conversation with <user>; again for older',
  '  /help               this help',
  '  x                   log out and quit (end of input does the same)',
  '  //text              send a line that starts with "/"',
].join('\n');
