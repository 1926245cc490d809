/**
 * A tiny scripted browser for auth tests: fetch with `redirect: 'manual'`, a per-origin cookie jar,
 * redirect following that stops at a given URL (the node's callback), and HTML form reading/submitting
 * by a small tag scanner (no regex over HTML, no DOM library).
 */

export interface Form {
  action: URL;
  method: string;
  id: string | undefined;
  fields: Record<string, string>;
}

export interface Page {
  url: URL;
  status: number;
  body: string;
}

export class Browser {
  /** origin → cookie name → value. Path, expiry and Secure are ignored: the tests talk to one IdP. */
  readonly jar = new Map<string, Map<string, string>>();

  /** One request, no redirect following; cookies sent and stored. */
  async request(url: URL | string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const headers = new Headers();
    const cookies = this.jar.get(target.origin);
    if (cookies && cookies.size > 0) {
      headers.set('cookie', [...cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    let body: URLSearchParams | undefined;
    if (init.form) {
      body = new URLSearchParams(init.form);
      headers.set('content-type', 'application/x-www-form-urlencoded');
    }
    const response = await fetch(target, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.#store(target.origin, response.headers.getSetCookie());
    return response;
  }

  /**
   * Requests `url` and follows redirects until a page answers (returned) or a redirect points at a URL
   * for which `stopAt` is true (returned unfetched, as `stoppedAt`).
   */
  async go(
    url: URL | string,
    init: { method?: string; form?: Record<string, string> } = {},
    stopAt: (url: URL) => boolean = () => false,
  ): Promise<Page & { stoppedAt?: URL }> {
    let current = new URL(url);
    let response = await this.request(current, init);
    for (let hops = 0; hops < 20; hops += 1) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) {
        return { url: current, status: response.status, body: await response.text() };
      }
      await response.body?.cancel();
      current = new URL(location, current);
      if (stopAt(current)) return { url: current, status: response.status, body: '', stoppedAt: current };
      response = await this.request(current);
    }
    throw new Error(`too many redirects at ${current.href}`);
  }

  /** Submits `form` with `overrides` merged into its fields and follows redirects like `go`. */
  submit(form: Form, overrides: Record<string, string> = {}, stopAt?: (url: URL) => boolean): ReturnType<Browser['go']> {
    return this.go(form.action, { method: form.method, form: { ...form.fields, ...overrides } }, stopAt);
  }

  #store(origin: string, setCookies: string[]): void {
    let cookies = this.jar.get(origin);
    if (!cookies) {
      cookies = new Map();
      this.jar.set(origin, cookies);
    }
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const deleted = value === '' || attributes.some((a) => {
        const [key = '', val = ''] = a.trim().split('=');
        if (key.toLowerCase() === 'max-age') return Number(val) <= 0;
        if (key.toLowerCase() === 'expires') return new Date(val).getTime() < Date.now();
        return false;
      });
      if (deleted) cookies.delete(name);
      else cookies.set(name, value);
    }
  }
}

/** Every `<form>` of a page, with its `<input>` fields (name → value) and its resolved action. */
export function readForms(page: Page): Form[] {
  const html = page.body;
  const forms: Form[] = [];
  let at = 0;
  for (;;) {
    const open = findTag(html, 'form', at);
    if (!open) return forms;
    const close = html.toLowerCase().indexOf('</form', open.end);
    const inner = html.slice(open.end, close === -1 ? html.length : close);
    const fields: Record<string, string> = {};
    let inputAt = 0;
    for (let input = findTag(inner, 'input', inputAt); input; input = findTag(inner, 'input', inputAt)) {
      const name = input.attributes.get('name');
      if (name !== undefined) fields[name] = input.attributes.get('value') ?? '';
      inputAt = input.end;
    }
    forms.push({
      action: new URL(open.attributes.get('action') ?? page.url.href, page.url),
      method: (open.attributes.get('method') ?? 'get').toUpperCase(),
      id: open.attributes.get('id'),
      fields,
    });
    at = close === -1 ? html.length : close;
  }
}

/** The `href` of every `<a>` of a page, resolved against the page URL. */
export function readLinks(page: Page): URL[] {
  const links: URL[] = [];
  for (let tag = findTag(page.body, 'a', 0); tag; tag = findTag(page.body, 'a', tag.end)) {
    const href = tag.attributes.get('href');
    if (href !== undefined) links.push(new URL(href, page.url));
  }
  return links;
}

/** The only form of a page (or the one with `id`); throws with the page text when it is not there. */
export function theForm(page: Page, id?: string): Form {
  const forms = readForms(page).filter((f) => id === undefined || f.id === id);
  const [form] = forms;
  if (!form || (id === undefined && forms.length !== 1)) {
    throw new Error(`expected one form${id ? ` #${id}` : ''} at ${page.url.href} (HTTP ${page.status}), page was:\n${page.body.slice(0, 2000)}`);
  }
  return form;
}

interface Tag {
  attributes: Map<string, string>;
  end: number;
}

/** Finds the next `<name ...>` tag from `from`, and parses its attributes. */
function findTag(html: string, name: string, from: number): Tag | undefined {
  const lower = html.toLowerCase();
  for (let at = lower.indexOf(`<${name}`, from); at !== -1; at = lower.indexOf(`<${name}`, at + 1)) {
    const next = html.charAt(at + name.length + 1);
    if (next === '' || !(isSpace(next) || next === '>' || next === '/')) continue;
    return parseAttributes(html, at + name.length + 1);
  }
  return undefined;
}

function parseAttributes(html: string, start: number): Tag {
  const attributes = new Map<string, string>();
  let i = start;
  while (i < html.length) {
    while (i < html.length && (isSpace(html.charAt(i)) || html.charAt(i) === '/')) i += 1;
    if (i >= html.length || html.charAt(i) === '>') break;
    let nameEnd = i;
    while (nameEnd < html.length && !isSpace(html.charAt(nameEnd)) && !'=>/'.includes(html.charAt(nameEnd))) nameEnd += 1;
    const name = html.slice(i, nameEnd).toLowerCase();
    i = nameEnd;
    let value = '';
    if (html.charAt(i) === '=') {
      i += 1;
      const quote = html.charAt(i);
      if (quote === '"' || quote === "'") {
        const endQuote = html.indexOf(quote, i + 1);
        value = html.slice(i + 1, endQuote === -1 ? html.length : endQuote);
        i = endQuote === -1 ? html.length : endQuote + 1;
      } else {
        let valueEnd = i;
        while (valueEnd < html.length && !isSpace(html.charAt(valueEnd)) && html.charAt(valueEnd) !== '>') valueEnd += 1;
        value = html.slice(i, valueEnd);
        i = valueEnd;
      }
    }
    if (name) attributes.set(name, decodeEntities(value));
  }
  return { attributes, end: i + 1 };
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\n' || c === '\t' || c === '\r' || c === '\f';
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const amp = text.indexOf('&', i);
    const semi = amp === -1 ? -1 : text.indexOf(';', amp);
    if (amp === -1 || semi === -1) return out + text.slice(i);
    out += text.slice(i, amp);
    const entity = text.slice(amp + 1, semi);
    let decoded: string | undefined = NAMED[entity];
    if (entity.startsWith('#x') || entity.startsWith('#X')) decoded = String.fromCodePoint(parseInt(entity.slice(2), 16));
    else if (entity.startsWith('#')) decoded = String.fromCodePoint(parseInt(entity.slice(1), 10));
    out += decoded ?? text.slice(amp, semi + 1);
    i = semi + 1;
  }
  return out;
}
