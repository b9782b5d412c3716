// A built tree copied to a path shaped like the baseline worktree's
// (<tmp>/perf-gate-base-XXXXXX/tree vs <tmp>/perf-gate-cand-XXXXXX/tree), for
// the instruction gate's B side: what the workload counts depends on where
// the code it loads lives, not only on the code. Measured 2026-12-06, the same
// build, the gateway section after 5,000 warm-up messages: 20,860
// instructions per message loaded from /work/main, 21,238 from
// /tmp/perf-gate-base-nmh6wC/tree, 21,219 with the driver in another checkout:
// a constant 1.8% that the gate read as the candidate being faster. From two
// copies at sibling paths of one length: 20,862 and 20,866. (Where it comes from
// inside V8 was not found; the paths end up in module wrappers, stack-trace
// positions and the string table.)
// Only what the workload loads is copied: dist/, proto/ and package.json (the
// root marker server/common/paths.ts looks for); node_modules is a symlink.
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
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
