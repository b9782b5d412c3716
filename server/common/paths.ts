// Where the repository's files are, whether we run from dist/ or elsewhere.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

function findRoot(start: string): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'proto'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root above ${start}`);
    dir = parent;
  }
}

export const REPO_ROOT = findRoot(__dirname);
export const PROTO_DIR = join(REPO_ROOT, 'proto');
export const DIST_DIR = join(REPO_ROOT, 'dist');
