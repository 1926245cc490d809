/**
 * Draws a flame graph (SVG) of a V8 .cpuprofile, such as those `npm run bench -- --profile` writes
 * (the bench draws one next to each profile by itself).
 * Usage: npx tsx bench/flamegraph.ts <file.cpuprofile> [out.svg] [--from=ms] [--title=text]
 * `--from` leaves out the first milliseconds (start-up); the default output is the input with .svg.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderFlameGraph } from './lib/flamegraph.ts';
import { readProfile } from './lib/profile.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string', default: '0' }, title: { type: 'string' } },
});
const [input, output] = positionals;
if (input === undefined) throw new Error('usage: flamegraph.ts <file.cpuprofile> [out.svg] [--from=ms] [--title=text]');
const target = output ?? input.replace(/\.cpuprofile$/, '') + '.svg';
const fromMs = Number(values.from);
const svg = await renderFlameGraph(readProfile(input), {
  title: values.title ?? `${input.split('/').pop()}${fromMs > 0 ? `, from ${fromMs} ms` : ''}: busy time`,
  fromMs,
});
writeFileSync(target, svg);
console.log(`wrote ${target}`);
