/**
 * The benchmark's flame graph (bench/lib/flamegraph.ts) on a small hand-made profile: widths are
 * inclusive busy time, idle time is left out, the same frame under one parent is merged, early
 * samples can be skipped, and the SVG carries the labels.
 */
import { describe, expect, it } from 'vitest';
import { flameBoxes, renderFlameGraph } from '../../bench/lib/flamegraph.ts';
import type { Profile } from '../../bench/lib/profile.ts';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0, scriptId: '0', columnNumber: 0 });
const XSTATE = 'file:///app/node_modules/xstate/dist/raise.cjs.js';
const GATEWAY = 'file:///app/src/transport/gateway.ts';

/**
 * (root) → (idle); open (gateway) → send (xstate) and, a second time at another node, send again
 * (to be merged); close (gateway). Samples: idle 4, open 1, send 2 + 1, close 2, each 1 ms apart.
 */
const profile: Profile = {
  startTime: 0,
  endTime: 10_000,
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 6] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('open', GATEWAY), children: [4, 5] },
    { id: 4, callFrame: frame('send', XSTATE) },
    { id: 5, callFrame: frame('send', XSTATE) },
    { id: 6, callFrame: frame('close', GATEWAY) },
  ],
  samples: [2, 2, 3, 4, 4, 5, 6, 6, 2, 2],
  timeDeltas: Array.from({ length: 10 }, () => 1000),
};

describe('flame graph', () => {
  it('lays out inclusive busy time: no idle, one box per call path, siblings by name', () => {
    const boxes = flameBoxes(profile, 0, 0);
    const summary = boxes.map((box) => [box.name.split(' ')[0], box.depth, box.x, box.x2, box.area]);
    expect(summary).toEqual([
      ['all', 0, 0, 6000, 'all'],
      ['close', 1, 0, 2000, 'src/transport'],
      ['open', 1, 2000, 6000, 'src/transport'],
      ['send', 2, 2000, 5000, 'xstate'],
    ]);
    expect(boxes.find((box) => box.name.startsWith('send'))?.label).toBe('send node_modules/xstate/dist/raise.cjs.js:1 (50.0 %)');
  });

  it('leaves out samples before --from and boxes narrower than the minimum share', () => {
    // Samples at 5 ms and later: send (twice, merged) and close (twice).
    const late = flameBoxes(profile, 5, 0);
    expect(late.map((box) => [box.name.split(' ')[0], box.x2 - box.x])).toEqual([
      ['all', 4000],
      ['close', 2000],
      ['open', 2000],
      ['send', 2000],
    ]);
    expect(flameBoxes(profile, 0, 0.4).map((box) => box.name.split(' ')[0])).toEqual(['all', 'open', 'send']);
  });

  it('renders an SVG with the title and the wide boxes labelled', async () => {
    const svg = await renderFlameGraph(profile, { title: 'a test profile', minShare: 0 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a test profile');
    expect(svg).toContain('open src/transport/gateway.ts:1 (66.7 %)');
  });
});
