// Runs the test suite: node's built-in runner over the compiled tests.
// Usage: node scripts/run-tests.mjs [name-filter ...]
//   e.g. `node scripts/run-tests.mjs gateway` runs dist/test/*gateway*.test.js
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const dir = join(process.cwd(), 'dist', 'test');
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .map((f) => join(dir, f));
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(' ') || '(all)'} in ${dir}`);
  process.exit(1);
}
// One file at a time: tests start real servers on fixed loopback port ranges
// and measure things; running them side by side on 2 cores makes both flaky.
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
