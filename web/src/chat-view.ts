/**
 * Renders a ChatStore into the chat page: rooms, direct-message list with unread counts, the
 * (possibly long, paged) people list, and the open conversation with its scrollback (older pages
 * load as the reader nears the top, the scroll position staying put; a marker says where the
 * conversation starts or that older messages expired). Keyed DOM updates, text only.
 */
import { byId, el, hueClass, initialOf, reconcile, setText } from './dom.ts';
import { renderMessage } from './message-view.ts';
import { GROUP, dmKey, type Change, type ChatStore, type ConvKey, type Conversation, type UserStatus } from './store.ts';

export interface ChatActions {
  send(text: string): void;
  retry(cid: string): void;
  discard(cid: string): void;
  loadMorePeople(): void;
  /** Asks for the next older page of a conversation (nothing happens when none is due). */
  loadOlder(key: ConvKey): void;
}

/** How close to the top (px) the reader gets before the next older page is asked for. */
const LOAD_OLDER_PX = 200;

const STATUS_LABEL: Record<UserStatus, string> = { online: 'online', grace: 'away', offline: 'offline', unknown: '' };

export class ChatView {
  private readonly messages = byId<HTMLOListElement>('messages');
  private readonly peopleList = byId<HTMLUListElement>('people-list');
  private readonly dmList = byId<HTMLUListElement>('dm-list');
  private readonly filter = byId<HTMLInputElement>('people-filter');
  private readonly input = byId<HTMLTextAreaElement>('composer-input');
  private readonly more = byId<HTMLButtonElement>('people-more');
  private readonly groupButton = byId<HTMLButtonElement>('conv-group');
  private readonly personItems = new Map<string, HTMLLIElement>();
  private readonly dmItems = new Map<string, HTMLLIElement>();
  private messageItems = new Map<string, HTMLLIElement>();
  private renderedConv: ConvKey | undefined;
  private renderedLast: string | undefined;
  private readonly marker = el('li', { class: 'older-marker', attrs: { 'data-older': '' } });
  private dirty = { users: false, conversations: false, messages: false };
  private scheduled = false;
  private moreInView = false;

  constructor(
    private readonly store: ChatStore,
    private readonly actions: ChatActions,
  ) {
    store.subscribe((c) => this.onChange(c));
    this.bindEvents();
    this.renderAll();
  }

  private bindEvents(): void {
    this.groupButton.addEventListener('click', () => this.openConversation(GROUP));
    this.filter.addEventListener('input', () => this.mark('users'));
    this.more.addEventListener('click', () => this.actions.loadMorePeople());
    // Load the next page of people when the "Load more" button scrolls into view (and keep going
    // while it stays in view after a page arrives); the button itself works for keyboard users.
    new IntersectionObserver((entries) => {
      this.moreInView = entries.some((e) => e.isIntersecting);
      if (this.moreInView) this.actions.loadMorePeople();
    }).observe(this.more);
    byId<HTMLFormElement>('composer').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => this.autosize());
    this.messages.addEventListener('click', (ev) => this.onMessageAction(ev));
    this.messages.addEventListener('scroll', () => this.nearTop(), { passive: true });
  }

  /** Loads the next older page while the reader is near the top, or the page does not fill the view yet. */
  private nearTop(): void {
    const conv = this.store.conversation(this.store.active);
    if (conv.older === 'more' && conv.loading === undefined && this.messages.scrollTop < LOAD_OLDER_PX) this.actions.loadOlder(conv.key);
  }

  private submit(): void {
    const text = this.input.value.trim();
    if (text === '') return;
    this.input.value = '';
    this.autosize();
    this.actions.send(text);
  }

  private autosize(): void {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, 200)}px`;
  }

  private onMessageAction(ev: Event): void {
    const button = (ev.target as Element | null)?.closest<HTMLButtonElement>('button[data-action]');
    if (button?.dataset.action === 'older') {
      this.actions.loadOlder(this.store.active);
      return;
    }
    const cid = button?.closest<HTMLElement>('[data-cid]')?.dataset.cid;
    if (!button || cid === undefined) return;
    if (button.dataset.action === 'retry') this.actions.retry(cid);
    else this.actions.discard(cid);
    this.input.focus();
  }

  openConversation(key: ConvKey): void {
    this.store.open(key);
    if (this.store.conversation(key).older === 'unknown') this.actions.loadOlder(key);
    this.input.focus();
  }

  private onChange(c: Change): void {
    if (c.kind === 'users') this.mark('users');
    else if (c.kind === 'conversations') this.mark('conversations');
    else if (c.kind === 'messages' && c.conv === this.store.active) this.mark('messages');
  }

  private mark(part: keyof ChatView['dirty']): void {
    this.dirty[part] = true;
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const { users, conversations, messages } = this.dirty;
    this.dirty = { users: false, conversations: false, messages: false };
    if (users || conversations) this.renderSidebar();
    if (users || conversations || messages) this.renderHeader();
    if (messages || this.renderedConv !== this.store.active) this.renderMessages();
  }

  renderAll(): void {
    this.renderSidebar();
    this.renderHeader();
    this.renderMessages();
  }

  private renderSidebar(): void {
    const { store } = this;
    const me = store.me;
    setText(byId('me-name'), me);
    const avatar = byId('me-avatar');
    setText(avatar, initialOf(me));
    avatar.className = `avatar ${hueClass(me)}`;
    this.renderGroupButton();
    this.renderDms();
    this.renderPeople();
    let unread = 0;
    for (const c of store.conversations.values()) unread += c.unread;
    document.title = unread > 0 ? `(${unread}) actor-chat` : 'actor-chat';
  }

  private renderGroupButton(): void {
    const conv = this.store.conversation(GROUP);
    this.groupButton.setAttribute('aria-current', String(this.store.active === GROUP));
    setBadge(this.groupButton, conv.unread);
  }

  private renderDms(): void {
    const peers = [...this.store.conversations.values()].filter((c) => c.peer !== undefined);
    const nodes = peers.map((c) => this.personItem(this.dmItems, c.peer ?? '', 'dm'));
    for (const name of [...this.dmItems.keys()]) if (!peers.some((c) => c.peer === name)) this.dmItems.delete(name);
    reconcile(this.dmList, nodes);
    byId('dm-empty').hidden = nodes.length > 0;
  }

  private renderPeople(): void {
    const { store } = this;
    const needle = this.filter.value.trim().toLowerCase();
    const names = [...store.users.keys()]
      .filter((n) => n !== store.me && (needle === '' || n.toLowerCase().includes(needle)))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of [...this.personItems.keys()]) if (!store.users.has(name)) this.personItems.delete(name);
    reconcile(this.peopleList, names.map((n) => this.personItem(this.personItems, n, 'person')));
    setText(byId('online-count'), `${store.online} online`);
    byId('people-empty').hidden = names.length > 0;
    this.more.hidden = store.usersCursor === null;
    if (!this.more.hidden && this.moreInView) queueMicrotask(() => this.actions.loadMorePeople());
  }

  private personItem(cache: Map<string, HTMLLIElement>, name: string, kind: 'dm' | 'person'): HTMLLIElement {
    let li = cache.get(name);
    if (!li) {
      const button = el('button', { class: 'item', attrs: { type: 'button', 'data-user': name } },
        el('span', { class: `avatar ${hueClass(name)}`, text: initialOf(name), attrs: { 'aria-hidden': 'true' } }),
        el('span', { class: 'item-name', text: name }),
        el('span', { class: 'status' }),
        el('span', { class: 'badge', attrs: { hidden: '' } }),
      );
      button.addEventListener('click', () => this.openConversation(dmKey(name)));
      li = el('li', { class: kind, attrs: { 'data-user': name } }, button);
      cache.set(name, li);
    }
    this.updatePersonItem(li, name);
    return li;
  }

  private updatePersonItem(li: HTMLLIElement, name: string): void {
    const status = this.store.statusOf(name);
    const button = li.firstElementChild as HTMLButtonElement;
    li.dataset.status = status;
    setText(button.querySelector('.status') as HTMLElement, STATUS_LABEL[status]);
    button.setAttribute('aria-current', String(this.store.active === dmKey(name)));
    setBadge(button, this.store.conversations.get(dmKey(name))?.unread ?? 0);
  }

  private renderHeader(): void {
    const { store } = this;
    const conv = store.conversation(store.active);
    const peer = conv.peer;
    setText(byId('conv-title'), peer ?? 'Everyone');
    const status = peer === undefined ? undefined : store.statusOf(peer);
    const sub = byId('conv-sub');
    setText(sub, status === undefined ? `${store.online} online` : STATUS_LABEL[status]);
    sub.dataset.status = status ?? 'room';
    this.input.placeholder = peer === undefined ? 'Message everyone' : `Message ${peer}`;
  }

  private renderMessages(): void {
    const { store } = this;
    const conv = store.conversation(store.active);
    const switched = this.renderedConv !== conv.key;
    if (switched) {
      // Rebuilding a conversation is not news: keep screen readers from reading it all out.
      this.messages.setAttribute('aria-busy', 'true');
      this.messageItems = new Map();
      this.messages.replaceChildren();
      this.renderedConv = conv.key;
    }
    const box = this.messages;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    // Older messages go in above what the reader is looking at: keep that row where it is on screen.
    const anchor = switched ? undefined : box.querySelector<HTMLLIElement>('li.msg');
    const anchorTop = anchor?.getBoundingClientRect().top ?? 0;
    const next = new Map<string, HTMLLIElement>();
    const nodes = conv.messages.map((m, i) => {
      const li = renderMessage(this.messageItems.get(m.key), m, conv.messages[i - 1], store.me);
      next.set(m.key, li);
      return li;
    });
    this.messageItems = next;
    const marker = this.renderMarker(conv);
    reconcile(box, marker ? [marker, ...nodes] : nodes);
    byId('conv-empty').hidden = nodes.length > 0 || conv.older === 'expired' || conv.loading !== undefined;
    const last = conv.messages.at(-1);
    const grew = last?.key !== this.renderedLast;
    this.renderedLast = last?.key;
    if (switched || atBottom || (grew && last?.from === store.me)) box.scrollTop = box.scrollHeight;
    else if (anchor?.isConnected) box.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    if (switched) queueMicrotask(() => this.messages.setAttribute('aria-busy', 'false'));
    if (box.scrollHeight <= box.clientHeight + LOAD_OLDER_PX) queueMicrotask(() => this.nearTop());
  }

  /** The row above the oldest message: loading, more to load, start of the conversation, or expired. */
  private renderMarker(conv: Conversation): HTMLLIElement | undefined {
    const state = conv.loading !== undefined ? 'loading' : conv.older;
    if (state === 'unknown') return undefined;
    if (this.marker.dataset.older === `${conv.key}:${state}`) return this.marker;
    this.marker.dataset.older = `${conv.key}:${state}`;
    const start = conv.peer === undefined ? 'This is the start of the conversation.' : `This is the start of your conversation with ${conv.peer}.`;
    const text = { loading: 'Loading earlier messages…', more: '', start, expired: 'Older messages have expired.' }[state];
    if (state === 'more') {
      this.marker.replaceChildren(el('button', { class: 'button small ghost', text: 'Load earlier messages', attrs: { type: 'button', 'data-action': 'older' } }));
    } else this.marker.replaceChildren(el('span', { text }));
    return this.marker;
  }
}

function setBadge(button: HTMLElement, unread: number): void {
  const badge = button.querySelector<HTMLElement>('.badge');
  if (!badge) return;
  badge.hidden = unread === 0;
  setText(badge, unread > 99 ? '99+' : String(unread));
  badge.setAttribute('aria-label', `${unread} unread`);
}
