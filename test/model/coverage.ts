/**
 * Model coverage measured on the real node: the totals come from the machine definitions (every
 * state; every transition of every state node, each guarded alternative and each delayed `after`
 * transition on its own — see src/inspect/definition.ts), and a transition counts as taken when a
 * live actor of the node takes it, observed through XState's `@xstate.microstep` inspection events.
 * Transitions reached only by a command injected in-process (not through a socket or HTTP) are
 * reported as such.
 */
import type { AnyStateMachine, InspectionEvent } from 'xstate';
import { listStates, listTransitions, transitionKey } from '../../src/inspect/definition.ts';

export type Via = 'node' | 'injected';

export class ModelCoverage {
  private readonly states = new Map<string, Set<string>>();
  private readonly transitions = new Map<string, Set<string>>();
  private readonly reachedStates = new Set<string>();
  private readonly taken = new Map<string, Set<Via>>();
  /** How the commands being sent now reach the node; set by the test around in-process steps. */
  via: Via = 'node';

  constructor(private readonly machines: readonly AnyStateMachine[]) {
    for (const machine of machines) {
      this.states.set(machine.id, new Set(listStates(machine).map((state) => state.id)));
      this.transitions.set(machine.id, new Set(listTransitions(machine).map((transition) => transition.key)));
    }
  }

  /** The `inspect` callback to give the node (`createChatNode(..., { inspect })`). */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.type === '@xstate.microstep') {
      for (const transition of event._transitions) {
        const key = transitionKey(transition);
        const vias = this.taken.get(key) ?? new Set<Via>();
        vias.add(this.via);
        this.taken.set(key, vias);
      }
    }
    if (event.type === '@xstate.snapshot' || event.type === '@xstate.microstep') {
      const nodes = (event.snapshot as { _nodes?: Array<{ id: string }> })._nodes ?? [];
      for (const node of nodes) this.reachedStates.add(node.id);
    }
  };

  /** Per machine: states and transitions reached / total. */
  summary(): Array<{ machine: string; states: [number, number]; transitions: [number, number] }> {
    return this.machines.map((machine) => {
      const states = this.states.get(machine.id)!;
      const transitions = this.transitions.get(machine.id)!;
      return {
        machine: machine.id,
        states: [[...states].filter((id) => this.reachedStates.has(id)).length, states.size],
        transitions: [[...transitions].filter((key) => this.taken.has(key)).length, transitions.size],
      };
    });
  }

  /** States and transitions of the definitions never reached. */
  missing(): string[] {
    const out: string[] = [];
    for (const states of this.states.values()) for (const id of states) if (!this.reachedStates.has(id)) out.push(`state ${id}`);
    for (const keys of this.transitions.values()) for (const key of keys) if (!this.taken.has(key)) out.push(`transition ${key}`);
    return out;
  }

  /** Transitions that only an in-process command reached. */
  onlyInProcess(): string[] {
    return [...this.taken].filter(([, vias]) => !vias.has('node')).map(([key]) => key).sort();
  }

  /** Whole-model percentage, states and transitions together. */
  percent(): number {
    let reached = 0;
    let total = 0;
    for (const { states, transitions } of this.summary()) {
      reached += states[0] + transitions[0];
      total += states[1] + transitions[1];
    }
    return total === 0 ? 100 : (100 * reached) / total;
  }

  report(): string {
    const lines = this.summary().map(
      ({ machine, states, transitions }) =>
        `  ${machine.padEnd(11)} states ${states[0]}/${states[1]}  transitions ${transitions[0]}/${transitions[1]}`,
    );
    const missing = this.missing();
    const inProcess = this.onlyInProcess();
    return [
      `model coverage ${this.percent().toFixed(1)}%`,
      ...lines,
      ...(missing.length > 0 ? ['  not reached:', ...missing.map((item) => `    ${item}`)] : []),
      ...(inProcess.length > 0 ? ['  reached only through a command the test injected in-process:', ...inProcess.map((key) => `    ${key}`)] : []),
    ].join('\n');
  }
}
