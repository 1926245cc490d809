/**
 * Builds the web client for browser tests into a directory of the test's own (so parallel test
 * files never race on web/dist), with the same Vite config as `npx vite build web`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';

const webRoot = resolve(import.meta.dirname, '../../web');

export async function buildWebClient(outDir = mkdtempSync(join(tmpdir(), 'actor-chat-web-'))): Promise<string> {
  await build({
    root: webRoot,
    configFile: join(webRoot, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}
