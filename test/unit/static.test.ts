/**
 * Unit tests for the in-memory static site that serves the built web client.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentTypeOf, createStaticSite, staticRoutes, type StaticSite } from '../../src/http/static.ts';
import type { HttpRequestInfo } from '../../src/transport/types.ts';

describe('createStaticSite', () => {
  let base: string;
  let site: StaticSite;

  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'static-test-'));
    const root = join(base, 'dist');
    mkdirSync(join(root, 'assets'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>chat</title>');
    writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(root, 'assets', 'index-AbC123.js'), 'console.log(1)');
    writeFileSync(join(root, 'assets', 'index-DeF456.css'), 'body{}');
    writeFileSync(join(base, 'secret.txt'), 'top secret');
    site = createStaticSite(root);
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('serves index.html at / with no-cache, HTML content type and a CSP', () => {
    const res = site.lookup('/');
    expect(res?.status).toBe(200);
    expect(res?.headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(res?.headers['Cache-Control']).toBe('no-cache');
    expect(res?.headers['Content-Security-Policy']).toContain("script-src 'self'");
    expect(res?.body.toString()).toContain('<title>chat</title>');
    expect(site.lookup('/index.html')?.body.toString()).toBe(res?.body.toString());
  });

  it('serves hashed assets as immutable with their content type', () => {
    const js = site.lookup('/assets/index-AbC123.js');
    expect(js?.status).toBe(200);
    expect(js?.headers['Content-Type']).toBe('text/javascript; charset=utf-8');
    expect(js?.headers['Cache-Control']).toBe('public, max-age=31536000, immutable');
    expect(js?.headers['X-Content-Type-Options']).toBe('nosniff');
    const css = site.lookup('/assets/index-DeF456.css');
    expect(css?.headers['Content-Type']).toBe('text/css; charset=utf-8');
  });

  it('revalidates files outside /assets/', () => {
    const svg = site.lookup('/favicon.svg');
    expect(svg?.headers['Content-Type']).toBe('image/svg+xml');
    expect(svg?.headers['Cache-Control']).toBe('no-cache');
  });

  it('ignores the query string', () => {
    expect(site.lookup('/?x=1')?.status).toBe(200);
  });

  it('answers 304 when If-None-Match carries the current ETag', () => {
    const first = site.lookup('/');
    const etag = first?.headers.ETag ?? '';
    expect(etag).toMatch(/^".+"$/);
    const again = site.lookup('/', `"other", ${etag}`);
    expect(again?.status).toBe(304);
    expect(again?.body.length).toBe(0);
    expect(site.lookup('/', '"other"')?.status).toBe(200);
  });

  it('returns undefined for files that do not exist', () => {
    expect(site.lookup('/nope.js')).toBeUndefined();
    expect(site.lookup('/assets/')).toBeUndefined();
    expect(site.lookup('/assets')).toBeUndefined();
    expect(site.lookup('')).toBeUndefined();
  });

  it.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/..%5csecret.txt',
    '/assets/..\\..\\secret.txt',
    '/./index.html',
    '/index.html%00.js',
    '/%E0%A4%A',
    'index.html',
  ])('refuses path traversal and malformed paths: %s', (path) => {
    expect(site.lookup(path)).toBeUndefined();
  });

  it('gives an empty site when the directory is missing', () => {
    const empty = createStaticSite(join(base, 'not-built'));
    expect(empty.size).toBe(0);
    expect(empty.lookup('/')).toBeUndefined();
  });

  it('maps unknown extensions to application/octet-stream', () => {
    expect(contentTypeOf('/a.bin')).toBe('application/octet-stream');
    expect(contentTypeOf('/A.PNG')).toBe('image/png');
  });

  it('exposes GET routes for /, /index.html and /assets/* that answer 200, 304 and 404', async () => {
    const routes = staticRoutes(site);
    expect(routes.map((r) => `${r.method} ${r.pattern}`)).toEqual(['get /', 'get /index.html', 'get /assets/*']);
    const request = (path: string, headers: Record<string, string> = {}): HttpRequestInfo => ({
      method: 'get', path, query: new URLSearchParams(), headers, params: [], remoteAddress: '127.0.0.1',
    });
    const handler = routes[2]!.handler;
    const ok = await handler(request('/assets/index-AbC123.js'), undefined);
    expect(ok.status).toBe(200);
    const etag = String(ok.headers?.ETag);
    expect((await handler(request('/assets/index-AbC123.js', { 'if-none-match': etag }), undefined)).status).toBe(304);
    const missing = await handler(request('/assets/../../secret.txt'), undefined);
    expect(missing.status).toBe(404);
    expect(JSON.parse(String(missing.body)).error.code).toBe('not_found');
  });
});
