/**
 * @module scripts/render-mermaid
 * Renders Mermaid sources to SVG with Mermaid's own renderer (the `mermaid` package's browser bundle)
 * in Debian's headless Chromium, offline: the page is blank and the bundle is injected from
 * node_modules, so nothing is fetched from the network.
 */
import { createRequire } from 'node:module';
import { launchChromium } from './chromium.ts';

const require = createRequire(import.meta.url);
/** Mermaid's self-contained browser build (defines `globalThis.mermaid`). */
const MERMAID_BUNDLE = require.resolve('mermaid/dist/mermaid.min.js');

/** One SVG document per source, in order. Throws with Mermaid's message when a source does not parse. */
export async function renderMermaid(sources: readonly string[]): Promise<string[]> {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ offline: true });
    const page = await context.newPage();
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ path: MERMAID_BUNDLE });
    return await page.evaluate(async (all) => {
      const mermaid = (globalThis as unknown as { mermaid: MermaidApi }).mermaid;
      mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default', deterministicIds: true });
      const out: string[] = [];
      for (const [index, source] of all.entries()) out.push((await mermaid.render(`machine-${index}`, source)).svg);
      return out;
    }, [...sources]);
  } finally {
    await browser.close();
  }
}

/** The part of Mermaid's browser API used here. */
interface MermaidApi {
  initialize(config: Record<string, unknown>): void;
  render(id: string, source: string): Promise<{ svg: string }>;
}
