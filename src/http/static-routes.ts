/**
 * @module http/static-routes
 * Mounts the built web client (web/dist, see http/static.ts) at `/`, `/index.html` and `/assets/*`.
 */
import { createStaticSite } from './static.ts';
import type { HttpHandler, Route } from '../transport/types.ts';

export function staticRoutes(root: string): { routes: Route[]; files: number } {
  const site = createStaticSite(root);
  const handler: HttpHandler = (request) => {
    const found = site.lookup(request.path, request.headers['if-none-match']);
    if (found) return found;
    return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'not found' };
  };
  const routes: Route[] = ['/', '/index.html', '/assets/*'].map((pattern) => ({ method: 'get', pattern, handler }));
  return { routes, files: site.size };
}
