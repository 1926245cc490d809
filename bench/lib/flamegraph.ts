/**
 * A flame graph of a V8 .cpuprofile, drawn with vega-lite → vega and rendered headless to SVG: one
 * box per call path, as wide as the time spent in it and its callees, callers below callees,
 * siblings side by side by name, coloured by where the code is (actor-chat's src/ directories,
 * XState, Node's core, V8's collector, other packages). Idle time is left out, so the widths are
 * shares of the time the process was busy.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { frameName, group, type Profile, type ProfileNode, selfTimes } from './profile.ts';

export interface FlameOptions {
  title: string;
  /** Leave out samples taken before this many ms after the profile started (start-up, warm-up). */
  fromMs?: number;
  /** Leave out boxes narrower than this share of the busy time. */
  minShare?: number;
  width?: number;
}

interface Frame {
  name: string;
  area: string;
  total: number;
  children: Map<string, Frame>;
}

export interface FlameBox {
  name: string;
  area: string;
  x: number;
  x2: number;
  depth: number;
  share: number;
  label: string;
}

/** The merged call tree: frames with the same function, file and line under one parent are one. */
function callTree(profile: Profile, fromMs: number): Frame {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = selfTimes(profile, fromMs);
  const root: Frame = { name: 'all', area: 'all', total: 0, children: new Map() };
  const add = (node: ProfileNode, into: Frame): number => {
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') return 0;
    let total = self.get(node.id) ?? 0;
    const key = `${functionName} ${url}:${lineNumber}`;
    let frame = into.children.get(key);
    if (!frame) {
      frame = { name: frameName(node.callFrame), area: group(url, functionName), total: 0, children: new Map() };
      into.children.set(key, frame);
    }
    for (const child of node.children ?? []) total += add(byId.get(child)!, frame);
    frame.total += total;
    return total;
  };
  const top = profile.nodes[0]!;
  for (const child of top.children ?? []) root.total += add(byId.get(child)!, root);
  return root;
}

/** Boxes for the frames at least `minShare` of the busy time wide, laid out left to right by name. */
export function flameBoxes(profile: Profile, fromMs = 0, minShare = 0.002): FlameBox[] {
  const root = callTree(profile, fromMs);
  const boxes: FlameBox[] = [];
  const place = (frame: Frame, x: number, depth: number): void => {
    const share = frame.total / root.total;
    if (share < minShare) return;
    boxes.push({ name: frame.name, area: frame.area, x, x2: x + frame.total, depth, share, label: `${frame.name} (${(share * 100).toFixed(1)} %)` });
    let next = x;
    for (const child of [...frame.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      place(child, next, depth + 1);
      next += child.total;
    }
  };
  place(root, 0, 0);
  return boxes;
}

export async function renderFlameGraph(profile: Profile, options: FlameOptions): Promise<string> {
  const boxes = flameBoxes(profile, options.fromMs, options.minShare);
  const width = options.width ?? 1200;
  const rowHeight = 16;
  const depth = Math.max(...boxes.map((box) => box.depth)) + 1;
  const total = boxes[0]?.x2 ?? 1;
  const x = { field: 'x', type: 'quantitative' as const, scale: { domain: [0, total], nice: false, zero: false }, axis: null };
  const y = { field: 'depth', type: 'ordinal', scale: { reverse: true, paddingInner: 0.1 }, axis: null } as const;
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: options.title,
    config: { font: 'sans-serif', view: { stroke: null } },
    width,
    height: depth * rowHeight,
    data: { values: boxes },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          x,
          x2: { field: 'x2' },
          y,
          color: { field: 'area', type: 'nominal', title: 'where the code is', scale: { scheme: 'category20' }, legend: { orient: 'bottom', columns: 5, labelLimit: 200 } },
        },
      },
      {
        // Labels only where a box is wide enough to hold a few characters; vega clips them to the box.
        transform: [{ filter: `(datum.x2 - datum.x) / ${total} * ${width} > 40` }, { calculate: `(datum.x2 - datum.x) / ${total} * ${width} - 6`, as: 'room' }],
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 3, fontSize: 10, fill: 'black', limit: { expr: 'datum.room' } },
        encoding: { x, y, text: { field: 'label' } },
      },
    ],
  };
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
