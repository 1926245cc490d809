/**
 * The machine docs are generated from the machines: this fails when the code and the committed
 * `docs/machines/*.json` or the diagrams and tables in `docs/machines.md` drift apart.
 */
import { describe, expect, it } from 'vitest';
import { DOC, MACHINES, drift, jsonPath, machineJson, mermaid, renderDoc, staleSvgs, svgPath, svgStamp } from '../../scripts/docs-machines.ts';
import { listStates, listTransitions } from '../../src/inspect/definition.ts';
import { supervisorMachine } from '../../src/machines/supervisor.machine.ts';
import { userMachine } from '../../src/machines/user.machine.ts';

const COMMIT = ['record', 'apply', 'emitCommitted'];

/** Every effect the node performs for these supervisor events, by name and in order, per guarded alternative. */
const SUPERVISOR_EFFECTS: Record<string, Array<{ guard?: string; actions: string[] }>> = {
  LOGIN: [
    { guard: 'hasUserActor', actions: ['sessionStarted', ...COMMIT] },
    { actions: ['sessionStarted', ...COMMIT, 'spawnUserActor', 'armGrace'] },
  ],
  SOCKET_OPEN: [
    { guard: 'sessionRevoked', actions: ['rejectRevokedSocket'] },
    { guard: 'hasUserActor', actions: ['socketOpened', ...COMMIT, 'tellUser'] },
    { actions: ['socketOpened', ...COMMIT, 'spawnUserActor', 'armGrace', 'tellUser'] },
  ],
  SOCKET_CLOSE: [
    { guard: 'hasUserActor', actions: ['socketClosed', ...COMMIT, 'tellUser'] },
    { actions: ['socketClosed', ...COMMIT] },
  ],
  POST_DIRECT: [
    { guard: 'recipientReachable', actions: ['directMessagePosted', ...COMMIT] },
    { actions: ['rejectRecipientOffline'] },
  ],
  USER_STATUS: [
    { guard: 'endedUnlisted', actions: ['disarmGrace', 'releaseUserActor'] },
    { guard: 'wentOffline', actions: ['presenceChanged', ...COMMIT, 'disarmGrace', 'releaseUserActor'] },
    { guard: 'wentToGrace', actions: ['presenceChanged', ...COMMIT, 'armGrace'] },
    { actions: ['presenceChanged', ...COMMIT, 'disarmGrace'] },
  ],
  GRACE_EXPIRED: [{ guard: 'hasUserActor', actions: ['tellUser'] }],
};

/** A state node of the definition JSON, as far as these tests read it. */
interface JsonNode {
  description?: string;
  meta?: { description?: unknown };
  on: Record<string, Array<{ guard?: string; actions: Array<string | { type: string }> }>>;
  states: Record<string, JsonNode>;
}

describe('machine docs', () => {
  it('match the machine definitions (run npm run docs:machines when this fails)', () => {
    const stale = [...drift().keys()];
    expect(stale, `out of date: ${stale.join(', ')} — run npm run docs:machines (npx tsx scripts/docs-machines.ts)`).toEqual([]);
  });

  it('notice a change to a machine that was not regenerated', () => {
    const committed = new Map<string, string>();
    for (const { machine } of MACHINES) committed.set(jsonPath(machine), machineJson(machine));
    const doc = renderDoc(placeholderDoc());
    const edited = doc.replace('user_online --> user_grace : SOCKET_CLOSED / removeSocket', 'user_online --> user_offline : SOCKET_CLOSED');
    const stale = drift((path) => (path === DOC ? edited : path === jsonPath(userMachine) ? '{}\n' : committed.get(path)));
    expect([...stale.keys()].sort()).toEqual([DOC, jsonPath(userMachine)].sort());
  });

  it('draw every state and every transition of each machine, with guards and delays', () => {
    const diagram = mermaid(userMachine);
    expect(diagram.split('\n')[0]).toBe('stateDiagram-v2');
    expect(diagram).toContain('user_online --> user_online : SOCKET_CLOSED [hasOtherSockets] / removeSocket');
    expect(diagram).toContain('user_grace --> user_offline : GRACE_EXPIRED');
    expect(diagram).toContain('user_offline --> [*]');
    for (const { machine } of MACHINES) {
      const lines = mermaid(machine).split('\n');
      const arrows = lines.filter((line) => line.includes('-->') && !line.includes('[*]'));
      expect(arrows.length, machine.id).toBe(listTransitions(machine).length);
      const trimmed = lines.map((line) => line.trim());
      for (const state of listStates(machine)) expect(trimmed, machine.id).toContain(`state "${state.key}" as ${state.id.replace(/\./g, '_')}`);
    }
  });

  it('show every effect of the supervisor by name and in order, in the definition JSON and in the diagram', () => {
    const json = JSON.parse(machineJson(supervisorMachine)) as JsonNode;
    const diagram = mermaid(supervisorMachine);
    for (const [event, expected] of Object.entries(SUPERVISOR_EFFECTS)) {
      const declared = json.states.running?.on[event] ?? json.on[event];
      const inJson = declared?.map((t) => ({ ...(t.guard ? { guard: t.guard } : {}), actions: t.actions.map((a) => (typeof a === 'string' ? a : a.type)) }));
      expect(inJson, event).toEqual(expected);
      for (const { guard, actions } of expected) expect(diagram, event).toContain(`: ${event}${guard ? ` [${guard}]` : ''} / ${actions.join(', ')}`);
    }
    expect(diagram).toContain('supervisor_running --> supervisor_draining : DRAIN');
    expect(diagram).toContain('supervisor --> supervisor : LOGOUT [hasUserActor] / sessionEnded, record, apply, emitCommitted, tellUser');
  });

  it('have an SVG of each diagram, rendered from the current Mermaid source', () => {
    const stale = staleSvgs().map(svgPath);
    expect(stale, `out of date: ${stale.join(', ')} — run npm run docs:machines`).toEqual([]);
    const before = svgStamp(userMachine);
    expect(staleSvgs((path) => (path === svgPath(userMachine) ? `${before}\n<svg/>` : undefined)).map((m) => m.id)).toEqual(
      MACHINES.map(({ machine }) => machine.id).filter((id) => id !== 'user'),
    );
    expect(staleSvgs((path) => (path === svgPath(userMachine) ? `${before.replace(/[0-9a-f]{64}/, '0'.repeat(64))}\n<svg/>` : undefined)).map((m) => m.id)).toContain('user');
  });

  it('give every state one description (not also meta.description) and every guard, action and delay a name', () => {
    const nodes = (node: JsonNode): JsonNode[] => Object.values(node.states).flatMap((child) => [child, ...nodes(child)]);
    for (const { machine } of MACHINES) {
      for (const state of listStates(machine)) expect(state.description, state.id).toBeTruthy();
      for (const node of nodes(JSON.parse(machineJson(machine)) as JsonNode)) expect(node.meta?.description).toBeUndefined();
      for (const transition of listTransitions(machine)) {
        expect(transition.guard ?? '', transition.key).not.toMatch(/inline/);
        expect(transition.actions.join(','), transition.key).not.toMatch(/inline/);
      }
    }
  });
});

/** A doc with empty generated blocks, as a contributor would start one. */
function placeholderDoc(): string {
  return MACHINES.map(({ machine }) => `<!-- BEGIN GENERATED ${machine.id}: npm run docs:machines -->\n<!-- END GENERATED ${machine.id} -->`).join('\n\n');
}
