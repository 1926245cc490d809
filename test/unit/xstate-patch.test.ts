/**
 * patches/xstate+5.33.3.patch (applied by patch-package on install): XState's Actor constructor merges its options
 * with an object spread that adds keys (`{ ...defaultOptions, ...options }`), and V8 in Node 20 gives every object
 * built that way a hidden class and descriptor array of its own: about 300 bytes more per user actor, kept for the
 * actor's life, plus the time to build them at every spawn. The patch merges with Object.assign instead.
 * This checks, in a node process with V8's natives syntax, that user actors spawned the way the node spawns them
 * share one hidden class for their options, and that the V8 behaviour the patch works around is still there.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

const probe = `
import { createActor } from 'xstate';
import { shardMachine } from './src/machines/shard.machine.ts';
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
const shard = createActor(shardMachine).start();
for (let slot = 0; slot < 20; slot++) shard.send({ type: 'SPAWN_USER', user: 'user' + slot, slot });
const actors = Object.values(shard.getSnapshot().children);
const spreads = Array.from({ length: 20 }, (_, i) => ({ ...{ a: 1, b: 2 }, ...{ id: i, input: {} } }));
const shared = (objects) => objects.slice(1).filter((object, i) => sameMap(object, objects[i])).length;
console.log(JSON.stringify({ actors: actors.length, optionsShared: shared(actors.map((actor) => actor.options)), spreadsShared: shared(spreads) }));
`;

describe('the xstate patch', () => {
  it('gives spawned user actors options of one shared hidden class, where a plain spread would not', () => {
    const output = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', '--input-type=module', '-e', probe], {
      cwd: root,
      encoding: 'utf8',
    });
    const result = JSON.parse(output) as { actors: number; optionsShared: number; spreadsShared: number };
    expect(result.actors).toBe(20);
    // Every neighbouring pair shares its hidden class: the patch is applied (npm ci runs patch-package).
    expect(result.optionsShared).toBe(19);
    // The premise: in this V8, a spread that adds keys does not share hidden classes. When this fails, V8 fixed it and
    // the patch can go.
    expect(result.spreadsShared).toBeLessThan(10);
  });
});
