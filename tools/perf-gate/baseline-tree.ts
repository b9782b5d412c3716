// The A side of the A/B gate: the baseline ref checked out in its own git
// worktree under a temp dir (`git worktree add --detach`), node_modules
// symlinked from the candidate checkout and built with the candidate's tsc
// (never an install there: the dependencies must be the candidate's, which is
// why a ref whose package.json names other dependencies is refused).
// Refusals are values, not throws: the gate then falls back to the committed
// baseline file and says why.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BaselineTree {
  dir: string;
  commit: string;
  /** Remove the worktree and its temp dir. */
  remove(): void;
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function tryGit(cwd: string, args: string[]): string | null {
  try {
    return git(cwd, args);
  } catch {
    return null;
  }
}

/**
 * The default baseline: the merge base with main when HEAD is on another line
 * of history, else the commit before HEAD (its first parent: on main after a
 * merge, main as it was). null for a root commit or a shallow clone's edge.
 */
export function defaultBaselineRef(repo: string): { ref: string | null; why: string } {
  const head = tryGit(repo, ['rev-parse', 'HEAD']);
  if (!head) return { ref: null, why: 'not a git checkout' };
  const base = tryGit(repo, ['merge-base', 'HEAD', 'main']);
  if (base && base !== head) return { ref: base, why: 'the merge base with main' };
  const parent = tryGit(repo, ['rev-parse', '--verify', '--quiet', 'HEAD~1^{commit}']);
  if (!parent) return { ref: null, why: 'HEAD has no parent here (a root commit or a shallow clone)' };
  return { ref: parent, why: 'the commit before HEAD (HEAD~1)' };
}

function dependencies(pkgJson: string): string {
  const p = JSON.parse(pkgJson) as { dependencies?: object; devDependencies?: object; optionalDependencies?: object };
  return JSON.stringify([p.dependencies ?? {}, p.devDependencies ?? {}, p.optionalDependencies ?? {}]);
}

/** Check out and build `ref`; a string says why it cannot be. */
export function buildBaselineTree(repo: string, ref: string, buildTimeoutMs: number, log: (line: string) => void): BaselineTree | string {
  const commit = tryGit(repo, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]);
  if (!commit) return `${ref} is not a commit here (a shallow clone?)`;
  const theirPkg = tryGit(repo, ['show', `${commit}:package.json`]);
  if (theirPkg === null) return `${commit.slice(0, 12)} has no package.json`;
  if (dependencies(theirPkg) !== dependencies(readFileSync(join(repo, 'package.json'), 'utf8'))) {
    return `${commit.slice(0, 12)}'s package.json names other dependencies than the candidate's: its node_modules would differ`;
  }
  const tsc = join(repo, 'node_modules', '.bin', 'tsc');
  if (!existsSync(tsc)) return `no ${tsc}: the candidate checkout is not installed`;
  const tmp = mkdtempSync(join(tmpdir(), 'perf-gate-base-'));
  const dir = join(tmp, 'tree');
  const remove = (): void => {
    tryGit(repo, ['worktree', 'remove', '--force', dir]);
    rmSync(tmp, { recursive: true, force: true });
    tryGit(repo, ['worktree', 'prune']);
  };
  try {
    git(repo, ['worktree', 'add', '--detach', dir, commit]);
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const started = Date.now();
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8', timeout: buildTimeoutMs });
    if (r.status !== 0) {
      remove();
      return `${commit.slice(0, 12)} does not build (tsc ${r.status ?? r.signal}): ${(r.stdout + r.stderr).split('\n').slice(0, 3).join(' | ')}`;
    }
    log(`baseline ${commit.slice(0, 12)} built in ${dir} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    return { dir, commit, remove };
  } catch (err) {
    remove();
    return `${commit.slice(0, 12)}: worktree failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
}
