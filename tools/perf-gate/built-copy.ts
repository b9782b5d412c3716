// Where the instruction gate's code runs from, so that nothing but the code
// differs between its sides: what the workload counts depends on where the
// code it loads lives. Measured 2026-12-06, one build, the gateway section
// after 5,000 warm-up messages, instructions per message:
// - loaded from /work/main 20,860; from /tmp/perf-gate-base-nmh6wC/tree 21,238
//   (a constant 1.8% that the gate read as the candidate being faster, so a
//   5% gateway slowdown read +2.6%);
// - from two sibling copies of one path length, the driver in one of them:
//   20,863 (the driver's own tree) and 21,297 (the other);
// - the driver in a third place and importing no module of a tree: 20,866
//   and 20,864 from two sibling copies, whole tree or built files only.
// So the candidate runs from a copy at a path shaped like the baseline
// worktree's (<tmp>/perf-gate-base-XXXXXX/tree vs <tmp>/perf-gate-cand-XXXXXX/tree),
// and the driver from a directory of its own. (Which part of V8 the paths
// reach was not found: module wrappers, stack-trace positions and the string
// table hold them; the gateway section's megamorphic property loads go
// through a cache keyed by addresses.)
// A tree copy holds only what the workload loads: dist/, proto/ and
// package.json (the root marker server/common/paths.ts looks for), with
// node_modules as a symlink.
import { copyFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BuiltCopy {
  dir: string;
  remove(): void;
}

/** Copy `src`'s built files to <tmp>/<prefix>XXXXXX/tree (prefix the same length as the baseline's 'perf-gate-base-'). */
export function copyBuiltTree(src: string, prefix = 'perf-gate-cand-'): BuiltCopy {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  const dir = join(tmp, 'tree');
  const remove = (): void => rmSync(tmp, { recursive: true, force: true });
  try {
    for (const part of ['dist', 'proto', 'package.json']) cpSync(join(src, part), join(dir, part), { recursive: true });
    symlinkSync(join(src, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, remove };
}

/**
 * The workload's driver (dist/tools/perf-gate/instr-workload.js and the one
 * module it imports, ./instr-config.js) copied into a directory of its own,
 * beside neither side's tree. A new import in the driver fails here loudly
 * (module not found), not silently.
 */
export function copyDriver(src: string): BuiltCopy {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-drv-'));
  for (const f of ['instr-workload.js', 'instr-config.js']) copyFileSync(join(src, 'dist', 'tools', 'perf-gate', f), join(dir, f));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
