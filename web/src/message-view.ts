/**
 * One message row: avatar, sender, time, text (always textContent, wrapped), and for my own sends
 * the delivery state: "Sending…", or the refusal with Retry / Discard buttons.
 */
import { el, hueClass, initialOf, setText } from './dom.ts';
import type { ChatMessage } from './store.ts';

const CONTINUE_MS = 5 * 60_000;

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function build(m: ChatMessage): HTMLLIElement {
  if (m.state === 'system') return el('li', { class: 'msg system', text: m.text });
  const time = el('time', { class: 'msg-time', text: timeFormat.format(m.ts) });
  time.dateTime = new Date(m.ts).toISOString();
  time.title = fullFormat.format(m.ts);
  return el('li', { class: 'msg' },
    el('span', { class: `avatar ${hueClass(m.from)}`, text: initialOf(m.from), attrs: { 'aria-hidden': 'true' } }),
    el('div', { class: 'msg-body' },
      el('div', { class: 'msg-meta' }, el('span', { class: 'msg-from', text: m.from }), time),
      el('p', { class: 'msg-text', text: m.text }),
      el('div', { class: 'msg-state' }),
    ),
  );
}

function renderState(box: HTMLElement, m: ChatMessage): void {
  if (m.state === 'pending') {
    box.replaceChildren(el('span', { text: 'Sending…' }));
    return;
  }
  if (m.state !== 'failed') {
    box.replaceChildren();
    return;
  }
  const reason = m.error ? `${m.error.message} (${m.error.code})` : 'Not delivered';
  box.replaceChildren(
    el('span', { class: 'error-text', text: `Not delivered: ${reason}` }),
    el('button', { class: 'button small', text: 'Retry', attrs: { type: 'button', 'data-action': 'retry' } }),
    el('button', { class: 'button small ghost', text: 'Discard', attrs: { type: 'button', 'data-action': 'discard' } }),
  );
}

/** Creates or updates the row for `m`; `prev` decides whether the sender line can be folded. */
export function renderMessage(existing: HTMLLIElement | undefined, m: ChatMessage, prev: ChatMessage | undefined, me: string): HTMLLIElement {
  const li = existing ?? build(m);
  if (m.state === 'system') return li;
  const continued = prev !== undefined && prev.state !== 'system' && prev.from === m.from && m.ts - prev.ts < CONTINUE_MS;
  li.classList.toggle('continued', continued);
  li.classList.toggle('mine', m.from === me);
  if (li.dataset.state !== m.state || m.state === 'failed') {
    li.dataset.state = m.state;
    const box = li.querySelector<HTMLElement>('.msg-state');
    if (box) renderState(box, m);
  }
  if (m.id !== undefined) li.dataset.id = String(m.id);
  if (m.cid !== undefined) li.dataset.cid = m.cid;
  else delete li.dataset.cid;
  const from = li.querySelector('.msg-from');
  if (from) setText(from, m.from);
  return li;
}
