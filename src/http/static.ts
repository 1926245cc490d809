/**
 * @module http/static
 * Serves the built web client (web/dist) from memory, transport-free: the transport asks
 * `lookup(pathname)` and writes what it gets back. Files are read once at start (the site is small);
 * lookups are exact-key matches in that in-memory table, so no request path can reach outside rootDir.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { HttpHandler, Route } from '../transport/types.ts';

export interface StaticResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface StaticSite {
  /** Answer for a request path (query string ignored), or undefined when there is no such file. */
  lookup(pathname: string, ifNoneMatch?: string): StaticResponse | undefined;
  /** Number of files loaded; 0 means the client was not built. */
  readonly size: number;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
};

/** Vite puts content-hashed files under /assets/: their URL changes when their bytes do. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else (index.html above all) must be revalidated so a deploy is picked up at once. */
const REVALIDATE = 'no-cache';

/** The page talks only to its own origin; user text is never HTML, so no inline script or style. */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

interface Entry {
  headers: Record<string, string>;
  body: Buffer;
  etag: string;
}

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

function makeEntry(urlPath: string, body: Buffer): Entry {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  const headers: Record<string, string> = {
    'Content-Type': contentTypeOf(urlPath),
    'Cache-Control': urlPath.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
    'X-Content-Type-Options': 'nosniff',
    ETag: etag,
  };
  if (urlPath.endsWith('.html')) {
    headers['Content-Security-Policy'] = CSP;
    headers['Referrer-Policy'] = 'no-referrer';
  }
  return { headers, body, etag };
}

/** Turns a request path into a table key; undefined for anything malformed or suspicious. */
function normalize(pathname: string): string | undefined {
  const path = pathname.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined; // malformed percent-encoding: not a file we could have
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return undefined;
  if (decoded.split('/').some((part) => part === '..' || part === '.')) return undefined;
  return decoded === '/' ? '/index.html' : decoded;
}

/** Loads every file under rootDir into memory. A missing rootDir gives an empty site (all 404). */
export function createStaticSite(rootDir: string): StaticSite {
  const table = new Map<string, Entry>();
  const exists = statSync(rootDir, { throwIfNoEntry: false })?.isDirectory() ?? false;
  for (const file of exists ? listFiles(rootDir) : []) {
    const urlPath = '/' + relative(rootDir, file).split(sep).join('/');
    table.set(urlPath, makeEntry(urlPath, readFileSync(file)));
  }
  return {
    size: table.size,
    lookup(pathname, ifNoneMatch) {
      const key = normalize(pathname);
      const entry = key === undefined ? undefined : table.get(key);
      if (!entry) return undefined;
      if (ifNoneMatch !== undefined && ifNoneMatch.split(/\s*,\s*/).includes(entry.etag)) {
        return { status: 304, headers: { ...entry.headers }, body: Buffer.alloc(0) };
      }
      return { status: 200, headers: { ...entry.headers }, body: entry.body };
    },
  };
}

/**
 * The GET routes that serve a site: `/`, `/index.html` and `/assets/*` (all Vite emits), with
 * If-None-Match revalidation. Anything else falls through to the node's own 404.
 */
export function staticRoutes(site: StaticSite): Route[] {
  const handler: HttpHandler = (request) => {
    const found = site.lookup(request.path, request.headers['if-none-match']);
    if (found) return found;
    return {
      status: 404,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ error: { code: 'not_found', message: `no such file: ${request.path}` } }),
    };
  };
  return ['/', '/index.html', '/assets/*'].map((pattern) => ({ method: 'get', pattern, handler }));
}
