/**
 * Tiny DOM helpers. User data only ever reaches the page through `textContent` and attributes set
 * here; nothing in the client writes innerHTML.
 */

export interface ElProps {
  class?: string;
  text?: string;
  attrs?: Record<string, string>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElProps = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  for (const child of children) node.append(child);
  return node;
}

export function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing #${id} in index.html`);
  return node as T;
}

/** Sets text only when it changed (keeps re-renders cheap and selection stable). */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * Makes `container`'s children exactly `nodes`, in order, moving only what is out of place.
 * Nodes not listed are removed. O(n) DOM reads; the common "one more at the end" costs one append.
 */
export function reconcile(container: HTMLElement, nodes: readonly HTMLElement[]): void {
  let cursor = container.firstElementChild;
  for (const node of nodes) {
    if (node === cursor) {
      cursor = cursor.nextElementSibling;
      continue;
    }
    container.insertBefore(node, cursor);
  }
  while (cursor) {
    const next = cursor.nextElementSibling;
    cursor.remove();
    cursor = next;
  }
}

/** Stable colour bucket for a name (avatars), as one of 12 CSS classes. */
export function hueClass(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i += 1) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `hue-${h % 12}`;
}

export function initialOf(name: string): string {
  return (Array.from(name)[0] ?? '?').toUpperCase();
}
