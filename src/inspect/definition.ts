/**
 * @module inspect/definition
 * Reads a machine's definition (its state nodes and their transitions) into plain records:
 * every state, and every transition of every state node — each guarded alternative and each
 * delayed `after` transition counted on its own. The machine docs, the model-coverage helper
 * and the journal replay all use this one walk, so they agree on what "a transition" is.
 */
import type { AnyStateMachine, AnyTransitionDefinition } from 'xstate';

/** What the walk needs of a state node (xstate's StateNode, structurally). */
interface NodeLike {
  id: string;
  key: string;
  type: string;
  tags: string[];
  description?: string;
  entry: unknown[];
  exit: unknown[];
  states: Record<string, NodeLike>;
  transitions: Map<string, AnyTransitionDefinition[]>;
}

export interface StateInfo {
  /** Full id, e.g. `user.online`. */
  id: string;
  /** Name inside its parent, e.g. `online`. */
  key: string;
  type: string;
  tags: string[];
  description: string | undefined;
  entry: string[];
  exit: string[];
}

export interface TransitionInfo {
  /** Stable key: `<source id> <event>#<index of the alternative>`, e.g. `user.online SOCKET_CLOSED#1`. */
  key: string;
  source: string;
  /** The event type; for a delayed transition xstate's `xstate.after.<delay>.<state id>`. */
  eventType: string;
  /** Short label: the event, or `after <delay>` for a delayed transition. */
  event: string;
  guard: string | undefined;
  /** Named delay (or ms) of an `after` transition. */
  delay: string | undefined;
  /** Target state ids; empty for a targetless transition (actions only, the state stays). */
  targets: string[];
  actions: string[];
}

/** Every state node, depth first, the root excluded. */
export function listStates(machine: AnyStateMachine): StateInfo[] {
  const out: StateInfo[] = [];
  const visit = (node: NodeLike): void => {
    for (const child of Object.values(node.states)) {
      out.push({
        id: child.id,
        key: child.key,
        type: child.type,
        tags: [...child.tags],
        description: child.description,
        entry: child.entry.map(actionName).filter(isShown),
        exit: child.exit.map(actionName).filter(isShown),
      });
      visit(child);
    }
  };
  visit(machine.root as unknown as NodeLike);
  return out;
}

/** Every transition of every state node (the root's own included), in definition order. */
export function listTransitions(machine: AnyStateMachine): TransitionInfo[] {
  const out: TransitionInfo[] = [];
  const visit = (node: NodeLike): void => {
    for (const [eventType, alternatives] of node.transitions) {
      alternatives.forEach((transition, index) => out.push(describeTransition(transition, eventType, index)));
    }
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root as unknown as NodeLike);
  return out;
}

/** The key of a transition taken at run time (an `@xstate.microstep`'s `_transitions` entry). */
export function transitionKey(transition: AnyTransitionDefinition): string {
  const source = transition.source as unknown as NodeLike;
  const index = source.transitions.get(transition.eventType)?.indexOf(transition) ?? -1;
  return `${source.id} ${transition.eventType}#${index}`;
}

function describeTransition(transition: AnyTransitionDefinition, eventType: string, index: number): TransitionInfo {
  const source = (transition.source as unknown as NodeLike).id;
  const delay = (transition as { delay?: string | number }).delay;
  return {
    key: `${source} ${eventType}#${index}`,
    source,
    eventType,
    event: delay === undefined ? eventType : `after ${String(delay)}`,
    guard: guardName(transition.guard),
    delay: delay === undefined ? undefined : String(delay),
    targets: (transition.target ?? []).map((target) => (target as unknown as NodeLike).id),
    actions: (transition.actions as unknown[]).map(actionName).filter(isShown),
  };
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'inline guard';
  const type = (guard as { type?: unknown }).type;
  return typeof type === 'string' ? type : 'inline guard';
}

function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if (typeof action === 'function') {
    const type = (action as { type?: unknown }).type;
    return typeof type === 'string' ? type : action.name || 'inline action';
  }
  const { type, params } = action as { type?: unknown; params?: unknown };
  if (typeof type !== 'string') return 'inline action';
  if (params === null || typeof params !== 'object') return type;
  const args = Object.entries(params).map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return `${type}(${args.join(', ')})`;
}

/** xstate's own bookkeeping actions (scheduling and cancelling `after` timers) are not the machine's behaviour. */
function isShown(name: string): boolean {
  return name !== 'xstate.raise' && name !== 'xstate.cancel';
}
