/**
 * The chart for docs/benchmarks.md, drawn with vega-lite → vega and rendered headless to SVG
 * (vega's View.toSVG needs no canvas): fan-out p99 latency against the offered rate, and each
 * server's cost relative to bare uWebSockets.js per scenario.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';

export interface LatencyPoint {
  server: string;
  rate: number;
  p99: number;
  clean: boolean;
}

export interface RatioPoint {
  server: string;
  metric: string;
  ratio: number;
}

const COLORS = {
  domain: ['bare uWebSockets.js', 'Socket.IO 4.8', 'Socket.IO 4.8 on bare uWS', 'actor-chat', 'actor-chat (Socket.IO)'],
  range: ['#4c78a8', '#e45756', '#f58518', '#54a24b', '#b279a2'],
};

export async function renderChart(latency: LatencyPoint[], ratios: RatioPoint[]): Promise<string> {
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: { font: 'sans-serif', view: { stroke: '#ddd' } },
    hconcat: [
      {
        title: 'Fan-out: p99 latency by offered rate (500 clients)',
        width: 380,
        height: 260,
        data: { values: latency },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'rate', type: 'quantitative', scale: { type: 'log' }, title: 'messages/s sent (each to every client)' },
          y: { field: 'p99', type: 'quantitative', scale: { type: 'log' }, title: 'p99 latency (ms)' },
          color: { field: 'server', type: 'nominal', scale: COLORS, title: null },
        },
      },
      {
        title: 'Cost relative to bare uWebSockets.js (lower is better)',
        width: 340,
        height: 260,
        data: { values: ratios },
        // Bars grow from 1 (the ceiling), so on the log scale a bar's length is the factor itself.
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'metric', type: 'nominal', title: null, sort: null },
          yOffset: { field: 'server', type: 'nominal', sort: COLORS.domain },
          x: { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: '× bare uWS (log scale; 1 = the ceiling)' },
          x2: { datum: 1 },
          color: { field: 'server', type: 'nominal', scale: COLORS, title: null, legend: { orient: 'bottom' } },
        },
      },
    ],
  };
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
