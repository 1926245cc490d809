/**
 * The machine docs are generated from the machines: this fails when the code and the committed
 * `docs/machines/*.json` or the diagrams and tables in `docs/machines.md` drift apart.
 */
import { describe, expect, it } from 'vitest';
import { DOC, MACHINES, drift, jsonPath, machineJson, mermaid, renderDoc } from '../../scripts/docs-machines.ts';
import { listStates, listTransitions } from '../../src/inspect/definition.ts';
import { userMachine } from '../../src/machines/user.machine.ts';

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
      for (const state of listStates(machine)) expect(lines, machine.id).toContain(`  state "${state.key}" as ${state.id.replace(/\./g, '_')}`);
    }
  });

  it('give every state a meta.description and every guard, action and delay a name', () => {
    for (const { machine } of MACHINES) {
      for (const state of listStates(machine)) expect(state.description, state.id).toBeTruthy();
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
