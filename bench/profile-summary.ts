/**
 * Summarises a V8 .cpuprofile (from `npm run bench -- --profile`, which runs actor-chat under
 * `node --cpu-prof`): the functions with the most self time, and the share of each source area.
 * Usage: npx tsx bench/profile-summary.ts bench/results/profiles/<file>.cpuprofile [top=25]
 */
import { area, frameName, readProfile, selfTimes } from './lib/profile.ts';

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  const profile = readProfile(file);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = selfTimes(profile);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, micros] of self) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const key = frameName(frame);
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const a = area(frame.url, frame.functionName);
    byArea.set(a, (byArea.get(a) ?? 0) + micros);
  }
  const pct = (micros: number): string => `${((micros / total) * 100).toFixed(1).padStart(5)} %`;
  console.log(`profile ${file}: ${(total / 1e6).toFixed(2)} s sampled`);
  console.log('\nself time by function:');
  for (const [key, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25))) console.log(`${pct(micros)}  ${key}`);
  console.log('\nself time by area:');
  for (const [key, micros] of [...byArea].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(micros)}  ${key}`);
}

main();
