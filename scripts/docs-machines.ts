/**
 * `npm run docs:machines`: regenerates the machine documentation from the machine definitions.
 * Writes `docs/machines/<id>.json` (`JSON.stringify(machine)`, what the Stately tools read) and,
 * in `docs/machines.md` between each machine's markers, a Mermaid `stateDiagram-v2` and the
 * state and transition tables, all walked from `machine.root` — never drawn by hand — and renders
 * each diagram to `docs/machines/<id>.svg` with Mermaid's own renderer in Debian's Chromium
 * (scripts/render-mermaid.ts). An SVG starts with the hash of the Mermaid source it was drawn from,
 * so its freshness is checked without a browser (its pixels depend on the machine's fonts).
 * `--check` writes nothing and exits 1 when the committed files differ from the code.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnyStateMachine } from 'xstate';
import { userMachine } from '../src/machines/user.machine.ts';
import { shardMachine } from '../src/machines/shard.machine.ts';
import { supervisorMachine } from '../src/machines/supervisor.machine.ts';
import { listStates, listTransitions, type StateInfo, type TransitionInfo } from '../src/inspect/definition.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DOC = 'docs/machines.md';

export const MACHINES: ReadonlyArray<{ machine: AnyStateMachine; source: string }> = [
  { machine: userMachine, source: 'src/machines/user.machine.ts' },
  { machine: shardMachine, source: 'src/machines/shard.machine.ts' },
  { machine: supervisorMachine, source: 'src/machines/supervisor.machine.ts' },
];

export const jsonPath = (machine: AnyStateMachine): string => `docs/machines/${machine.id}.json`;
export const svgPath = (machine: AnyStateMachine): string => `docs/machines/${machine.id}.svg`;

/** The first line of a generated SVG: which Mermaid source (by SHA-256) it was rendered from. */
export function svgStamp(machine: AnyStateMachine): string {
  const hash = createHash('sha256').update(mermaid(machine)).digest('hex');
  return `<!-- npm run docs:machines: rendered by Mermaid from the diagram in ${DOC}, source sha256 ${hash} -->`;
}

/** The definition as the Stately tools read it. */
export function machineJson(machine: AnyStateMachine): string {
  return `${JSON.stringify(machine, null, 2)}\n`;
}

const BEGIN = (id: string): string => `<!-- BEGIN GENERATED ${id}: npm run docs:machines -->`;
const END = (id: string): string => `<!-- END GENERATED ${id} -->`;

/** Mermaid ids may not contain dots; labels may not contain `:`, `;` or `#`. */
const mermaidId = (stateId: string): string => stateId.replace(/[^A-Za-z0-9_]/g, '_');
const label = (text: string): string => text.replace(/[:;#]/g, ' ').replace(/\s+/g, ' ').trim();

/**
 * The diagram. Transitions declared on the machine's root (they apply in every state) are drawn on a
 * box around the states, named after the machine.
 */
export function mermaid(machine: AnyStateMachine): string {
  const states = listStates(machine);
  const transitions = listTransitions(machine);
  const root = mermaidId(machine.id);
  const atRoot = transitions.filter((t) => t.source === machine.id);
  const pad = atRoot.length > 0 ? '    ' : '  ';
  const lines = ['stateDiagram-v2', '  direction LR'];
  if (atRoot.length > 0) lines.push(`  state "${machine.id} (arrows from this box apply in every state)" as ${root} {`);
  const initial = (machine.root as unknown as { initial?: { target?: Array<{ id: string }> } }).initial?.target?.[0];
  for (const state of states) {
    lines.push(`${pad}state "${state.key}" as ${mermaidId(state.id)}`);
    if (state.tags.length > 0) lines.push(`${pad}${mermaidId(state.id)} : tags ${label(state.tags.join(', '))}`);
  }
  if (initial) lines.push(`${pad}[*] --> ${mermaidId(initial.id)}`);
  const edges = (transition: TransitionInfo, from: string, indent: string): void => {
    const to = transition.targets.length > 0 ? transition.targets.map(mermaidId) : [from];
    for (const target of to) lines.push(`${indent}${from} --> ${target} : ${label(transitionLabel(transition))}`);
  };
  for (const transition of transitions) if (transition.source !== machine.id) edges(transition, mermaidId(transition.source), pad);
  for (const state of states) if (state.type === 'final') lines.push(`${pad}${mermaidId(state.id)} --> [*]`);
  if (atRoot.length > 0) lines.push('  }');
  for (const transition of atRoot) edges(transition, root, '  ');
  return lines.join('\n');
}

function transitionLabel(transition: TransitionInfo): string {
  const guard = transition.guard ? ` [${transition.guard}]` : '';
  const actions = transition.actions.length > 0 ? ` / ${transition.actions.map((a) => a.replace(/\(.*\)$/, '')).join(', ')}` : '';
  return `${transition.event}${guard}${actions}`;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');
const code = (items: string[]): string => (items.length === 0 ? '—' : items.map((item) => `\`${item}\``).join(', '));

function stateTable(states: StateInfo[]): string {
  const rows = states.map((s) =>
    `| \`${s.key}\`${s.type === 'final' ? ' (final)' : ''} | ${code(s.tags)} | ${code(s.entry)} | ${cell(s.description ?? '')} |`,
  );
  return ['| state | tags | entry | description |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function transitionTable(machine: AnyStateMachine, transitions: TransitionInfo[]): string {
  const short = (id: string): string => (id === machine.id ? '(any state)' : id.slice(machine.id.length + 1));
  const rows = transitions.map((t) =>
    `| ${t.source === machine.id ? short(t.source) : `\`${short(t.source)}\``} | \`${t.event}\` | ${t.guard ? `\`${t.guard}\`` : '—'} | ${t.targets.length > 0 ? t.targets.map((id) => `\`${short(id)}\``).join(', ') : '(stays)'} | ${code(t.actions)} |`,
  );
  return ['| from | event | guard | to | actions |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

/** The generated block of one machine: diagram, states, transitions, counts. */
export function machineSection(machine: AnyStateMachine, source: string): string {
  const states = listStates(machine);
  const transitions = listTransitions(machine);
  return [
    BEGIN(machine.id),
    '',
    `Generated from [\`${source}\`](../${source}); definition JSON: [\`${jsonPath(machine)}\`](machines/${machine.id}.json).`,
    `${states.length} states, ${transitions.length} transitions.`,
    '',
    `![${machine.id} machine](machines/${machine.id}.svg)`,
    '',
    '<details><summary>Mermaid source of the diagram</summary>',
    '',
    '```mermaid',
    mermaid(machine),
    '```',
    '',
    '</details>',
    '',
    stateTable(states),
    '',
    transitionTable(machine, transitions),
    '',
    END(machine.id),
  ].join('\n');
}

/** `doc` with each machine's generated block replaced; throws when a machine's markers are missing. */
export function renderDoc(doc: string): string {
  let out = doc;
  for (const { machine, source } of MACHINES) {
    const begin = out.indexOf(BEGIN(machine.id));
    const end = out.indexOf(END(machine.id));
    if (begin === -1 || end < begin) throw new Error(`${DOC}: markers for machine "${machine.id}" are missing: add\n${BEGIN(machine.id)}\n${END(machine.id)}`);
    out = out.slice(0, begin) + machineSection(machine, source) + out.slice(end + END(machine.id).length);
  }
  return out;
}

/** Files whose committed text differs from what the code generates: path → expected text. */
export function drift(read: (path: string) => string | undefined = readRepoFile): Map<string, string> {
  const expected = new Map<string, string>();
  for (const { machine } of MACHINES) expected.set(jsonPath(machine), machineJson(machine));
  const doc = read(DOC);
  if (doc === undefined) throw new Error(`${DOC} is missing`);
  expected.set(DOC, renderDoc(doc));
  for (const [path, text] of expected) if (read(path) === text) expected.delete(path);
  return expected;
}

function readRepoFile(path: string): string | undefined {
  try {
    return readFileSync(`${ROOT}/${path}`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Machines whose SVG is missing or was rendered from another Mermaid source. */
export function staleSvgs(read: (path: string) => string | undefined = readRepoFile): AnyStateMachine[] {
  return MACHINES.map(({ machine }) => machine).filter((machine) => !read(svgPath(machine))?.startsWith(`${svgStamp(machine)}\n`));
}

async function main(args: string[]): Promise<void> {
  const changed = drift();
  const stale = staleSvgs();
  if (args.includes('--check')) {
    for (const path of changed.keys()) process.stderr.write(`out of date: ${path} (run npm run docs:machines)\n`);
    for (const machine of stale) process.stderr.write(`out of date: ${svgPath(machine)} (run npm run docs:machines)\n`);
    process.exitCode = changed.size + stale.length > 0 ? 1 : 0;
    return;
  }
  mkdirSync(`${ROOT}/docs/machines`, { recursive: true });
  for (const [path, text] of changed) {
    writeFileSync(`${ROOT}/${path}`, text);
    process.stdout.write(`wrote ${path}\n`);
  }
  if (stale.length > 0) {
    // Loaded only when needed: the drift test imports this module and needs no browser.
    const { renderMermaid } = await import('./render-mermaid.ts');
    const svgs = await renderMermaid(stale.map(mermaid));
    stale.forEach((machine, index) => {
      writeFileSync(`${ROOT}/${svgPath(machine)}`, `${svgStamp(machine)}\n${svgs[index]}\n`);
      process.stdout.write(`wrote ${svgPath(machine)}\n`);
    });
  }
  if (changed.size === 0 && stale.length === 0) process.stdout.write('machine docs are up to date\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
