/**
 * The report's rows for actor-chat's Socket.IO surface (issue 16's targets): its max clean fan-out rate
 * to Socket.IO clients against Socket.IO 4.8 attached to bare uWebSockets.js (≥ 0.9×) and on Node's http
 * server (≥ 5×), and its idle memory per Socket.IO user against a `/ws` user (≤ 1.5×).
 */
import type { FanoutResult } from './scenarios/fanout.ts';
import type { IdleResults } from './scenarios/idle.ts';
import type { BenchResults } from './lib/results.ts';
import { fmt, map, per, type Row } from './report.ts';

function ratio(value: number | undefined, base: number | undefined): number | undefined {
  return value === undefined || base === undefined || base <= 0 ? undefined : value / base;
}

export function socketIoRows(results: BenchResults): Row[] {
  const rows: Row[] = [];
  const f = per<FanoutResult>(results, 'fanout');
  const actor = f['actor-chat-sio']?.maxCleanRate;
  if (actor !== undefined) {
    const overUws = ratio(actor, f['socketio-uws']?.maxCleanRate);
    const overHttp = ratio(actor, f.socketio?.maxCleanRate);
    rows.push({
      scenario: 'fan-out, Socket.IO clients',
      metric:
        `actor-chat's Socket.IO surface, max clean rate: ${fmt(overUws)}× Socket.IO on bare uWS, ${fmt(overHttp)}× Socket.IO on Node's http ` +
        '(values: max clean rate, msg/s)',
      values: map(f, (r) => r.maxCleanRate),
      ratio: false,
      target: '≥ 0.9× on uWS, ≥ 5× on http',
      met: overUws === undefined || overHttp === undefined ? null : overUws >= 0.9 && overHttp >= 5,
      subject: 'actor-chat-sio',
    });
  }
  const idle = per<IdleResults>(results, 'idle');
  const sio = idle['actor-chat-sio']?.kbPerConnection;
  const ws = idle['actor-chat']?.kbPerConnection;
  if (sio !== undefined) {
    const over = ratio(sio, ws);
    rows.push({
      scenario: 'idle, Socket.IO clients',
      metric: `RSS growth per Socket.IO user ÷ per \`/ws\` user (actor-chat): ${fmt(over)}× (values: KB per user)`,
      values: { 'actor-chat': ws, 'actor-chat-sio': sio },
      ratio: false,
      target: '≤ 1.5× a /ws user',
      met: over === undefined ? null : over <= 1.5,
      subject: 'actor-chat-sio',
    });
  }
  return rows;
}
