/**
 * Which actor-chat the benchmark runs: the working tree, or a clean export of a commit (`--actor-ref`),
 * and how the report names it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, resolve } from 'node:path';

/** The repository's root. */
export const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');

/**
 * Exports a commit (tracked files only) to a temporary directory with node_modules linked in, so the
 * benchmark measures committed code even while the working tree is being edited.
 */
export function exportCommit(ref: string): string {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: ROOT }).toString().trim();
  const dir = resolve(tmpdir(), 'actor-chat-bench', sha.slice(0, 12));
  if (!existsSync(resolve(dir, 'src/main.ts'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('bash', ['-c', `git archive ${sha} | tar -x -C '${dir}'`], { cwd: ROOT });
  }
  if (!existsSync(resolve(dir, 'node_modules'))) symlinkSync(resolve(ROOT, 'node_modules'), resolve(dir, 'node_modules'));
  return dir;
}

export function actorVersion(ref: string | undefined): string {
  const sha = execFileSync('git', ['rev-parse', '--short=12', ref ?? 'HEAD'], { cwd: ROOT }).toString().trim();
  if (ref !== undefined) return `${sha} (export of ${ref})`;
  const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT }).toString().trim() !== '';
  return `${sha}${dirty ? ' + uncommitted changes in src/' : ''} (working tree)`;
}
