/**
 * Entry point of the web client: decides between the sign-in screen and the chat, and wires the
 * store, the view and the self-healing WebSocket together (resume with `after=`, sleep detection,
 * session-ended detection, logout).
 */
import { authConfig, logout, sessionIsValid, type AuthConfig, type Session } from './api.ts';
import { ChatView } from './chat-view.ts';
import { Connection, type ConnState, type DropInfo } from './connection.ts';
import { byId, setText } from './dom.ts';
import { LoginView } from './login-view.ts';
import type { ServerFrame } from '../../src/protocol/wire.ts';
import { parseServerFrame } from './protocol.ts';
import { ChatStore, GROUP, type ConvKey } from './store.ts';

const SESSION_KEY = 'actor-chat.session';
const FLASH_KEY = 'actor-chat.flash';
const TICK_MS = 5_000;
/** A timer tick this late means the machine slept: the socket may be dead without knowing it. */
const SLEPT_MS = 15_000;
const PROBE_TIMEOUT_MS = 5_000;
/** The node accepts 1–1000 names per watch frame. */
const WATCH_BATCH = 1000;
/** Close codes after which this session must not reconnect (src/transport/close-codes.ts). */
const FINAL_CLOSE: Record<number, string> = {
  4001: 'You have logged out (in this or another window).',
  4002: 'Your session was revoked. Please sign in again.',
  4003: 'Your session has expired. Please sign in again.',
};

function loadSession(): Session | null {
  const raw = sessionStorage.getItem(SESSION_KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Session;
    return typeof s.user === 'string' ? s : null;
  } catch {
    sessionStorage.removeItem(SESSION_KEY); // unreadable leftovers: start clean
    return null;
  }
}

function leave(flash: string): void {
  sessionStorage.removeItem(SESSION_KEY);
  sessionStorage.setItem(FLASH_KEY, flash);
  location.replace('/');
}

let toastTimer: ReturnType<typeof setTimeout> | undefined;
function toast(text: string): void {
  const box = byId('toast');
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (box.hidden = true), 8_000);
}

class ChatApp {
  private readonly store = new ChatStore();
  private readonly conn: Connection;
  private readonly view: ChatView;
  /** What each outstanding list-users request was for; the server answers in order. */
  private requests: ('page' | 'probe')[] = [];
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Users sent in a `watch` frame on the current socket. */
  private readonly watched = new Set<string>();
  private lastTick = Date.now();
  private countdown: ReturnType<typeof setInterval> | undefined;

  constructor(private session: Session | null) {
    this.conn = new Connection({
      url: () => (this.store.lastId === null ? '/ws' : `/ws?after=${this.store.lastId}`),
      onFrame: (raw) => this.onFrame(raw),
      onState: (s) => this.showState(s),
      onDrop: (info) => this.onDrop(info),
    });
    this.view = new ChatView(this.store, {
      send: (text) => this.send(text),
      retry: (cid) => this.retry(cid),
      discard: (cid) => this.store.discard(cid),
      loadMorePeople: () => this.loadMorePeople(),
      loadOlder: (key) => this.loadOlder(key),
    });
    this.store.subscribe((c) => {
      if (c.kind === 'notice') toast(c.text);
      if (c.kind === 'conversations') this.watchPeers();
    });
    this.bindPage();
  }

  start(): void {
    byId('chat-view').hidden = false;
    if (this.session) this.store.me = this.session.user;
    this.store.attentive = !document.hidden;
    this.view.renderAll();
    this.conn.start();
    byId<HTMLTextAreaElement>('composer-input').focus();
  }

  private bindPage(): void {
    byId('logout').addEventListener('click', () => void this.logout());
    byId('conn-retry').addEventListener('click', () => this.conn.retryNow());
    window.addEventListener('online', () => {
      // An attempt started while offline is doomed (or hangs): start a fresh one now.
      if (this.conn.state.kind === 'connecting') this.conn.restart();
      else this.wake();
    });
    // The browser knows the network is gone before TCP does: say so now, retry when it is back.
    window.addEventListener('offline', () => this.conn.drop('network offline'));
    document.addEventListener('visibilitychange', () => {
      this.store.setAttentive(!document.hidden);
      if (!document.hidden) this.wake();
    });
    setInterval(() => {
      const now = Date.now();
      if (now - this.lastTick > SLEPT_MS) this.wake();
      this.lastTick = now;
    }, TICK_MS);
  }

  private onFrame(raw: string): void {
    const frame = parseServerFrame(raw);
    if (!frame) {
      console.warn('actor-chat: dropped an unreadable frame', raw.slice(0, 200));
      return;
    }
    this.dispatch(frame);
  }

  private dispatch(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.requests = [];
        this.conn.markHealthy();
        if (this.session?.user !== frame.user) this.session = { user: frame.user };
        this.store.welcome(frame);
        this.watched.clear();
        this.watchPeers();
        // Opening the page shows the recent conversation; a resumed socket only catches up.
        for (const key of new Set([GROUP, this.store.active])) {
          if (this.store.conversation(key).older === 'unknown') this.loadOlder(key);
        }
        return;
      case 'receive':
      case 'direct':
        this.store.message(frame);
        return;
      case 'presence':
        this.store.presence(frame);
        return;
      case 'users':
        if (this.requests.shift() === 'probe') clearTimeout(this.probeTimer);
        else this.store.usersPage(frame);
        return;
      case 'error':
        this.store.error(frame);
        return;
      case 'history-gap':
        this.store.historyGap();
        return;
      case 'history':
        this.store.history(frame);
        return;
    }
  }

  private async onDrop(info: DropInfo): Promise<'retry' | 'stop'> {
    this.requests = [];
    clearTimeout(this.probeTimer);
    this.store.failAllPending('disconnected', 'the connection dropped before the server confirmed it');
    this.store.abandonHistory();
    const final = FINAL_CLOSE[info.code];
    if (final !== undefined) {
      leave(final);
      return 'stop';
    }
    let valid: boolean;
    try {
      valid = await sessionIsValid();
    } catch (err) {
      console.info('actor-chat: server unreachable, will retry', info, err);
      return 'retry';
    }
    if (valid) return 'retry';
    leave('Your session has ended. Please sign in again.');
    return 'stop';
  }

  /** After sleep or a network change: retry at once, or check that an open socket still answers. */
  private wake(): void {
    if (this.conn.state.kind === 'waiting') {
      this.conn.retryNow();
      return;
    }
    if (this.conn.state.kind !== 'open' || this.requests.includes('probe')) return;
    if (!this.conn.send({ type: 'list-users', limit: 1 })) return;
    this.requests.push('probe');
    this.probeTimer = setTimeout(() => this.conn.restart(), PROBE_TIMEOUT_MS);
  }

  /**
   * Follows the presence of everyone we have a direct conversation with. Needed when the node runs
   * presence mode `watch`; the node ignores `watch` in mode `all`, so it is always safe to send.
   */
  private watchPeers(): void {
    if (this.conn.state.kind !== 'open') return;
    const fresh = this.store.peers().filter((p) => !this.watched.has(p));
    for (let i = 0; i < fresh.length; i += WATCH_BATCH) {
      const users = fresh.slice(i, i + WATCH_BATCH);
      if (!this.conn.send({ type: 'watch', users })) return;
      for (const u of users) this.watched.add(u);
    }
  }

  private loadOlder(key: ConvKey): void {
    if (this.conn.state.kind !== 'open') return; // asked again on the next welcome
    const frame = this.store.historyRequest(key);
    if (frame && !this.conn.send(frame)) this.store.abandonHistory();
  }

  private loadMorePeople(): void {
    const after = this.store.usersCursor;
    if (after === null || this.requests.includes('page')) return;
    if (this.conn.send({ type: 'list-users', after })) this.requests.push('page');
  }

  private send(text: string): void {
    const { cid, frame } = this.store.compose(this.store.active, text);
    if (!this.conn.send(frame)) this.store.fail(cid, 'disconnected', 'not sent, the connection is down');
  }

  private retry(cid: string): void {
    const frame = this.store.retry(cid);
    if (frame && !this.conn.send(frame)) this.store.fail(cid, 'disconnected', 'not sent, the connection is down');
  }

  private showState(state: ConnState): void {
    document.body.dataset.conn = state.kind;
    clearInterval(this.countdown);
    const short = { connecting: 'Connecting…', open: 'Connected', waiting: 'Offline', stopped: 'Disconnected' };
    setText(byId('conn-state'), state.kind === 'connecting' && state.attempt > 0 ? 'Reconnecting…' : short[state.kind]);
    const banner = byId('conn-banner');
    banner.hidden = state.kind !== 'waiting';
    if (state.kind !== 'waiting') return;
    const render = (): void => {
      const s = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
      setText(byId('conn-banner-text'), `Connection lost. Retrying in ${s}s; messages you send meanwhile can be retried.`);
    };
    render();
    this.countdown = setInterval(render, 1000);
  }

  private async logout(): Promise<void> {
    const button = byId<HTMLButtonElement>('logout');
    button.disabled = true;
    this.conn.stop();
    try {
      await logout(this.session ?? { user: this.store.me });
      leave('You have logged out.');
    } catch (err) {
      toast(`Logout failed: ${err instanceof Error ? err.message : String(err)}`);
      button.disabled = false;
      this.conn.start();
    }
  }
}

async function boot(): Promise<void> {
  const flash = sessionStorage.getItem(FLASH_KEY) ?? '';
  sessionStorage.removeItem(FLASH_KEY);
  const loginView = new LoginView((session) => {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    loginView.hide();
    new ChatApp(session).start();
  });
  const [config, valid] = await Promise.all([
    authConfig().catch((err: unknown): AuthConfig => {
      console.warn('actor-chat: no auth config, assuming dev login', err);
      return { oidc: false, devLogin: true };
    }),
    sessionIsValid().catch((err: unknown) => {
      console.warn('actor-chat: could not check the session', err);
      return false;
    }),
  ]);
  loginView.configure(config);
  byId('boot-view').hidden = true;
  if (valid) new ChatApp(loadSession()).start();
  else loginView.show(flash);
}

void boot();
