/**
 * Reading V8 .cpuprofile files (from `node --cpu-prof`, which `npm run bench -- --profile` uses):
 * the call tree, the time each sample stands for, and the source area a frame belongs to.
 */
import { readFileSync } from 'node:fs';

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export function readProfile(file: string): Profile {
  return JSON.parse(readFileSync(file, 'utf8')) as Profile;
}

/** Microseconds of self time per node id, counting only samples taken `fromMs` or later after the start. */
export function selfTimes(profile: Profile, fromMs = 0): Map<number, number> {
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let at = 0;
  for (let i = 0; i < samples.length; i++) {
    const delta = deltas[i] ?? 0;
    at += delta;
    if (at < fromMs * 1000) continue;
    const id = samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + delta);
  }
  return self;
}

/** Where a frame's code lives: `src/<dir>`, `bench/<dir>`, an npm package, node core, or V8's own. */
export function area(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native/builtin)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  const match = /\/(src|bench)\/(.*)$/.exec(url);
  if (match?.[2] !== undefined) return `${match[1]}/${match[2].split('/')[0]}`;
  return url.startsWith('node:') ? 'node core' : url;
}

/**
 * The few groups a flame graph colours by: actor-chat's own directories, XState, V8's collector and
 * its other entries, Node's core, and every other package together.
 */
export function group(url: string, name: string): string {
  const where = area(url, name);
  if (where.startsWith('src/') || where.startsWith('bench/') || where === 'xstate' || where === 'node core') return where;
  if (where === '(garbage collector)' || where === '(program)') return where;
  if (where === '(native/builtin)') return 'V8 builtins';
  return where.startsWith('(') ? where : 'other packages';
}

/** A frame's name as people read it: `function file:line`, paths from src/, bench/ or node_modules/. */
export function frameName(frame: ProfileNode['callFrame']): string {
  const where = frame.url === '' ? '' : ` ${frame.url.replace(/^.*\/(src|bench|node_modules)\//, '$1/')}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}
