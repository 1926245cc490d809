/**
 * Chat state for the web client, free of DOM and sockets so it can be unit-tested in Node:
 * conversations (group + one per person), presence, unread counts, and the life of a sent message
 * (pending by `cid` → confirmed by the echo carrying that `cid`, deduplicated by `id`, or failed),
 * and scrollback: which page of each conversation to ask for next and where the conversation starts.
 */
import type {
  DirectFrame,
  ErrorFrame,
  HistoryFrame,
  PresenceFrame,
  PresenceStatus,
  ReceiveFrame,
  UsersFrame,
  WelcomeFrame,
} from '../../src/protocol/wire.ts';
import type { ClientFrame } from './protocol.ts';

export const GROUP = 'group';
export type ConvKey = string;
export const dmKey = (peer: string): ConvKey => `@${peer}`;

export type MessageState = 'confirmed' | 'pending' | 'failed' | 'system';

export interface ChatMessage {
  /** Stable key for rendering: `m<epoch>-<id>`, `c<cid>` or `s<n>`. */
  key: string;
  /** Sort position among delivered entries: the message id (system notes sit between ids). */
  order?: number;
  id?: number;
  cid?: string;
  from: string;
  text: string;
  ts: number;
  state: MessageState;
  error?: { code: string; message: string };
}

/**
 * What lies before the oldest message shown: not asked yet, more to load, the start of the
 * conversation, or older messages that left the server's history window.
 */
export type Older = 'unknown' | 'more' | 'start' | 'expired';

export interface Conversation {
  key: ConvKey;
  /** The other person, for a direct conversation. */
  peer?: string;
  messages: ChatMessage[];
  unread: number;
  older: Older;
  /** The cid of the history request in flight for this conversation, if any. */
  loading?: string;
  /** Entries kept at most: the store's limit, raised by what scrollback loaded (the reader asked for those). */
  cap?: number;
}

export type Change =
  | { kind: 'users' }
  | { kind: 'messages'; conv: ConvKey }
  | { kind: 'conversations' }
  | { kind: 'notice'; level: 'info' | 'error'; text: string };

export type UserStatus = PresenceStatus | 'unknown';

const GAP_TEXT = 'Some messages from while you were away were too old to recover.';

const randomPrefix = (): string => Math.random().toString(36).slice(2, 8);

export class ChatStore {
  me = '';
  /** Highest message id seen: the `after=` of the next resume. */
  lastId: number | null = null;
  online = 0;
  /** Cursor for the next page of the presence list; null when the list is complete. */
  usersCursor: string | null = null;
  active: ConvKey = GROUP;
  /** False while the tab is hidden: messages then count as unread even in the open conversation. */
  attentive = true;
  readonly users = new Map<string, PresenceStatus>();
  readonly conversations = new Map<ConvKey, Conversation>();
  private readonly seen = new Set<number>();
  private readonly pending = new Map<string, { conv: ConvKey; msg: ChatMessage; frame: ClientFrame }>();
  /** History requests in flight: cid → conversation. */
  private readonly historyRequests = new Map<string, ConvKey>();
  private readonly listeners = new Set<(c: Change) => void>();
  private readonly cidPrefix = randomPrefix();
  private cidCounter = 0;
  private systemCounter = 0;
  /** Bumped when the server's ids start over, so old and new messages never share a key or a place. */
  private epoch = 0;
  /** One "too old to recover" note per resume, whether the welcome or a history-gap frame says so. */
  private gapNoted = false;

  constructor(private readonly maxPerConversation = 1000) {
    this.conversations.set(GROUP, { key: GROUP, messages: [], unread: 0, older: 'unknown' });
  }

  subscribe(fn: (c: Change) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(c: Change): void {
    for (const fn of this.listeners) fn(c);
  }

  conversation(key: ConvKey): Conversation {
    let conv = this.conversations.get(key);
    if (!conv) {
      conv = { key, messages: [], unread: 0, older: 'unknown' };
      if (key.startsWith('@')) conv.peer = key.slice(1);
      this.conversations.set(key, conv);
      this.emit({ kind: 'conversations' });
    }
    return conv;
  }

  statusOf(name: string): UserStatus {
    return this.users.get(name) ?? (this.usersCursor === null ? 'offline' : 'unknown');
  }

  /** Opens a conversation and marks it read. */
  open(key: ConvKey): void {
    const conv = this.conversation(key);
    this.active = key;
    if (conv.unread !== 0) conv.unread = 0;
    this.emit({ kind: 'conversations' });
    this.emit({ kind: 'messages', conv: key });
  }

  setAttentive(attentive: boolean): void {
    this.attentive = attentive;
    if (attentive) this.open(this.active);
  }

  /** First frame of every socket: resets presence, checks what the resume could not recover. */
  welcome(frame: WelcomeFrame): void {
    this.me = frame.user;
    this.users.clear();
    for (const u of frame.users) if (u.status !== 'offline') this.users.set(u.name, u.status);
    this.usersCursor = frame.truncated ? (frame.next ?? frame.users.at(-1)?.name ?? null) : null;
    this.online = frame.online;
    this.checkHistory(frame);
    this.emit({ kind: 'users' });
  }

  private checkHistory(frame: WelcomeFrame): void {
    this.gapNoted = false;
    const after = this.lastId;
    if (after === null) {
      this.lastId = frame.seq;
      return;
    }
    if (frame.seq < after) {
      // The node's sequence went backwards (in-memory history lost in a restart): ids are reused.
      this.seen.clear();
      this.epoch += 1;
      this.lastId = frame.seq;
      this.systemNote('The server restarted; messages sent while you were disconnected may be lost.');
      return;
    }
    if (frame.oldest !== undefined && frame.oldest > after + 1) this.historyGap();
  }

  private orderOf(id: number): number {
    return this.epoch * 1e12 + id;
  }

  /** The server says messages between our resume point and its history window are gone. */
  historyGap(): void {
    if (this.gapNoted) return;
    this.gapNoted = true;
    this.systemNote(GAP_TEXT);
  }

  private systemNote(text: string): void {
    const order = this.orderOf((this.lastId ?? 0) + 0.5);
    for (const conv of this.conversations.values()) {
      const note: ChatMessage = { key: `s${++this.systemCounter}`, order, from: '', text, ts: Date.now(), state: 'system' };
      this.insertDelivered(conv, note);
      this.emit({ kind: 'messages', conv: conv.key });
    }
  }

  /** A group or direct message from the server (live or replayed on resume). */
  message(frame: ReceiveFrame | DirectFrame): void {
    if (this.seen.has(frame.id)) return;
    if (this.lastId === null || frame.id > this.lastId) this.lastId = frame.id;
    const key = this.deliver(frame);
    if (frame.from !== this.me && (key !== this.active || !this.attentive)) {
      this.conversation(key).unread += 1;
      this.emit({ kind: 'conversations' });
    }
    this.emit({ kind: 'messages', conv: key });
  }

  /** Files one message from the server under its conversation (once); returns that conversation's key. */
  private deliver(frame: ReceiveFrame | DirectFrame): ConvKey {
    this.seen.add(frame.id);
    const key = frame.type === 'receive' ? GROUP : dmKey(frame.from === this.me ? frame.to : frame.from);
    const conv = this.conversation(key);
    if (frame.cid !== undefined && frame.from === this.me) this.confirm(frame.cid);
    const msg: ChatMessage = { key: `m${this.epoch}-${frame.id}`, order: this.orderOf(frame.id), id: frame.id, from: frame.from, text: frame.text, ts: frame.ts, state: 'confirmed' };
    if (frame.cid !== undefined) msg.cid = frame.cid;
    this.insertDelivered(conv, msg);
    return key;
  }

  /**
   * The request for the next older page of a conversation, or undefined when one is in flight or
   * nothing older is left. The first page is the newest; each next one ends before the oldest id shown.
   */
  historyRequest(key: ConvKey, limit = 50): Extract<ClientFrame, { type: 'history' }> | undefined {
    const conv = this.conversation(key);
    if (conv.loading !== undefined || conv.older === 'start' || conv.older === 'expired') return undefined;
    const cid = `${this.cidPrefix}-h${++this.cidCounter}`;
    const frame: Extract<ClientFrame, { type: 'history' }> = { type: 'history', limit, cid };
    if (conv.peer !== undefined) frame.with = conv.peer;
    const oldest = conv.older === 'more' ? this.oldestId(conv) : undefined;
    if (oldest !== undefined) frame.before = oldest;
    conv.loading = cid;
    this.historyRequests.set(cid, key);
    this.emit({ kind: 'messages', conv: key });
    return frame;
  }

  private oldestId(conv: Conversation): number | undefined {
    const prefix = `m${this.epoch}-`;
    return conv.messages.find((m) => m.id !== undefined && m.key.startsWith(prefix))?.id;
  }

  /** A page of older messages: filed like live ones but never unread, and never moving the resume point. */
  history(frame: HistoryFrame): void {
    const key = frame.cid === undefined ? undefined : this.historyRequests.get(frame.cid);
    if (key === undefined) return; // an answer for a socket or request we already gave up on
    this.historyRequests.delete(frame.cid!);
    const conv = this.conversation(key);
    conv.loading = undefined;
    conv.cap = Math.max(conv.cap ?? this.maxPerConversation, conv.messages.length) + frame.messages.length;
    for (const message of frame.messages) if (!this.seen.has(message.id)) this.deliver(message);
    conv.older = frame.more ? 'more' : frame.expired ? 'expired' : 'start';
    this.emit({ kind: 'messages', conv: key });
  }

  /** The socket dropped: history requests in flight will not be answered; they may be asked again. */
  abandonHistory(): void {
    for (const [cid, key] of this.historyRequests) {
      const conv = this.conversation(key);
      if (conv.loading === cid) conv.loading = undefined;
      this.emit({ kind: 'messages', conv: key });
    }
    this.historyRequests.clear();
  }

  /** Delivered entries are sorted by `order`; pending and failed sends stay after them. */
  private insertDelivered(conv: Conversation, msg: ChatMessage): void {
    const list = conv.messages;
    const order = msg.order ?? 0;
    let i = list.length;
    while (i > 0) {
      const prev = list[i - 1];
      if (prev && prev.order !== undefined && prev.order <= order) break;
      i -= 1;
    }
    list.splice(i, 0, msg);
    this.trim(conv);
  }

  /** Keeps a conversation to its cap by dropping its oldest entries. */
  private trim(conv: Conversation): void {
    let excess = conv.messages.length - (conv.cap ?? this.maxPerConversation);
    while (excess > 0) {
      const idx = conv.messages.findIndex((m) => m.order !== undefined);
      if (idx < 0) return;
      conv.messages.splice(idx, 1);
      if (conv.older !== 'unknown') conv.older = 'more'; // what was dropped can be loaded again
      excess -= 1;
    }
  }

  private confirm(cid: string): void {
    const entry = this.pending.get(cid);
    if (!entry) return;
    this.pending.delete(cid);
    const conv = this.conversation(entry.conv);
    conv.messages = conv.messages.filter((m) => m !== entry.msg);
  }

  /** Applies presence changes; `online` counts users whose status is online (grace excluded). */
  presence(frame: PresenceFrame): void {
    for (const { user, status } of frame.changes) {
      const was = this.users.get(user) === 'online';
      if (status === 'offline') this.users.delete(user);
      else this.users.set(user, status);
      const is = status === 'online';
      if (was !== is) this.online += is ? 1 : -1;
    }
    if (this.usersCursor === null) this.online = [...this.users.values()].filter((s) => s === 'online').length;
    this.emit({ kind: 'users' });
  }

  /** People with a direct conversation here: the users a `watch` presence mode must follow. */
  peers(): string[] {
    const out: string[] = [];
    for (const conv of this.conversations.values()) if (conv.peer !== undefined) out.push(conv.peer);
    return out;
  }

  usersPage(frame: UsersFrame): void {
    for (const u of frame.users) if (u.status !== 'offline') this.users.set(u.name, u.status);
    this.usersCursor = frame.next;
    this.online = frame.online;
    this.emit({ kind: 'users' });
  }

  /** A refused command: fails the matching send, or becomes a notice when it names no send. */
  error(frame: ErrorFrame): void {
    const asked = frame.cid === undefined ? undefined : this.historyRequests.get(frame.cid);
    if (asked !== undefined) {
      this.historyRequests.delete(frame.cid!);
      this.conversation(asked).loading = undefined;
      this.emit({ kind: 'notice', level: 'error', text: `Could not load older messages: ${frame.message} (${frame.code})` });
      return;
    }
    const entry = frame.cid === undefined ? undefined : this.pending.get(frame.cid);
    if (!entry) {
      this.emit({ kind: 'notice', level: 'error', text: `${frame.message} (${frame.code})` });
      return;
    }
    this.setFailed(entry.conv, entry.msg, frame.code, frame.message);
  }

  private setFailed(conv: ConvKey, msg: ChatMessage, code: string, message: string): void {
    msg.state = 'failed';
    msg.error = { code, message };
    this.emit({ kind: 'messages', conv });
  }

  /** Adds a pending send to a conversation; returns the frame to put on the socket. */
  compose(key: ConvKey, text: string): { cid: string; frame: ClientFrame } {
    const conv = this.conversation(key);
    const cid = `${this.cidPrefix}-${++this.cidCounter}`;
    const frame: ClientFrame = conv.peer === undefined
      ? { type: 'message', text, cid }
      : { type: 'direct', to: conv.peer, text, cid };
    const msg: ChatMessage = { key: `c${cid}`, cid, from: this.me, text, ts: Date.now(), state: 'pending' };
    conv.messages.push(msg);
    this.pending.set(cid, { conv: key, msg, frame });
    this.emit({ kind: 'messages', conv: key });
    return { cid, frame };
  }

  /** Marks one send as failed (e.g. the socket was down when it was made). */
  fail(cid: string, code: string, message: string): void {
    const entry = this.pending.get(cid);
    if (entry) this.setFailed(entry.conv, entry.msg, code, message);
  }

  /** The socket dropped: sends still waiting for their echo can no longer be confirmed by it. */
  failAllPending(code: string, message: string): void {
    for (const entry of this.pending.values()) {
      if (entry.msg.state === 'pending') this.setFailed(entry.conv, entry.msg, code, message);
    }
  }

  /** Puts a failed send back to pending (same cid) and returns its frame to resend. */
  retry(cid: string): ClientFrame | undefined {
    const entry = this.pending.get(cid);
    if (!entry) return undefined;
    entry.msg.state = 'pending';
    delete entry.msg.error;
    this.emit({ kind: 'messages', conv: entry.conv });
    return entry.frame;
  }

  discard(cid: string): void {
    const entry = this.pending.get(cid);
    if (!entry) return;
    this.confirm(cid);
    this.emit({ kind: 'messages', conv: entry.conv });
  }
}
