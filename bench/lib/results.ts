/**
 * The results of a run (bench/results/*.json): their shape, carrying over the scenarios not run again
 * (`--merge`), and the runs that failed (`--strict`).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ScenarioId } from '../scenarios/index.ts';
import type { BenchConfig } from './env.ts';
import type { TargetId } from './targets.ts';

export interface RunResult {
  error?: string;
  [key: string]: unknown;
}

export interface BenchResults {
  meta: Record<string, unknown>;
  config: BenchConfig;
  servers: TargetId[];
  results: Partial<Record<ScenarioId, Partial<Record<TargetId, RunResult>>>>;
}

/** Carries over the scenarios not run now from an earlier JSON (same sizes assumed), with their dates. */
export function mergePrevious(results: BenchResults, jsonPath: string, rerun: ScenarioId[]): void {
  if (!existsSync(jsonPath)) return;
  const previous = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResults;
  const previousDates = (previous.meta.measuredAt ?? {}) as Record<string, string>;
  const measuredAt = results.meta.measuredAt as Record<string, string>;
  for (const scenario of Object.keys(previous.results) as ScenarioId[]) {
    if (rerun.includes(scenario)) continue;
    results.results[scenario] = previous.results[scenario];
    measuredAt[scenario] = previousDates[scenario] ?? String(previous.meta.date);
  }
  const notes = results.meta.notes as string[];
  for (const note of (previous.meta.notes ?? []) as string[]) if (!notes.includes(note)) notes.push(note);
  results.meta.merged = true;
}

/** "scenario / server: error" for every run that did not complete. */
export function failures(results: BenchResults): string[] {
  return Object.entries(results.results).flatMap(([scenario, byTarget]) =>
    Object.entries(byTarget ?? {})
      .filter(([, result]) => result?.error !== undefined)
      .map(([target, result]) => `${scenario} / ${target}: ${result?.error}`),
  );
}
