// The code's shape as rules that fail the suite: the import graph runs one way
// (dependency-cruiser with .dependency-cruiser.cjs), no cycles (type-only
// imports included), no source file over 500 lines, no hot-path function over
// 70 lines, every environment variable and limit read through
// server/common/config.ts. docs/design/012-code-map.md draws the layers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../server/common/paths';
import { codeFiles, functionSpans, HOT_FUNCTION_LINES_MAX, lineCount, SOURCE_FILE_LINES_MAX } from '../scripts/code-shape';

const DEPCRUISE = join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const CONFIG = join(REPO_ROOT, '.dependency-cruiser.cjs');
const SOURCE_FOLDERS = ['lib', 'server', 'deploy', 'loadgen', 'tools', 'scenarios', 'bench', 'scripts', 'test'];

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
  cycle?: { name: string }[];
}

/** dependency-cruiser's verdict on `folders` of the tree at `cwd`, with the project's rules. */
function cruise(cwd: string, folders: string[]): { violations: Violation[]; modules: number } {
  const r = spawnSync(process.execPath, [DEPCRUISE, '-c', CONFIG, '--output-type', 'json', ...folders], {
    cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 120_000,
  });
  assert.ok(r.stdout, `dependency-cruiser printed nothing (exit ${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  return { violations: out.summary.violations, modules: out.summary.totalCruised };
}

function describeViolation(v: Violation): string {
  return v.cycle ? `${v.rule.name}: ${v.from} -> ${v.cycle.map((c) => c.name).join(' -> ')}` : `${v.rule.name}: ${v.from} -> ${v.to}`;
}

/** A throwaway tree laid out like the repository, holding `files` (path -> source). */
function probeTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wa-depcruise-probe-'));
  copyFileSync(join(REPO_ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('architecture', () => {
  test('the import graph runs one way: no rule of .dependency-cruiser.cjs is broken, no cycle', () => {
    const { violations, modules } = cruise(REPO_ROOT, SOURCE_FOLDERS);
    assert.ok(modules > 200, `dependency-cruiser saw the tree (${modules} modules)`);
    assert.deepEqual(violations.map(describeViolation), []);
  });

  test('breaking a rule fails: server importing the load generator, a layer importing upward, a type-only cycle, loadgen importing a tool', () => {
    const dir = probeTree({
      'server/common/reaches-up.ts': "import { x } from '../../loadgen/model/thing';\nexport const y = x;\n",
      'loadgen/model/thing.ts': 'export const x = 1;\n',
      'loadgen/engine/run.ts': "import type { Out } from '../outputs/out';\nexport type R = Out;\n",
      'loadgen/outputs/out.ts': 'export interface Out { n: number }\n',
      'server/store/a.ts': "import type { B } from './b';\nexport interface A { b?: B }\n",
      'server/store/b.ts': "import type { A } from './a';\nexport interface B { a?: A }\n",
      'loadgen/engine/gate.ts': "import { g } from '../../tools/perf-gate/g';\nexport const h = g;\n",
      'tools/perf-gate/g.ts': 'export const g = 1;\n',
    });
    try {
      const rules = new Set(cruise(dir, ['server', 'loadgen', 'tools']).violations.map((v) => v.rule.name));
      for (const rule of ['server-imports-only-server-and-lib', 'loadgen-engine-imports-downward', 'no-circular', 'loadgen-never-imports-tools']) {
        assert.ok(rules.has(rule), `${rule} caught (saw: ${[...rules].join(', ')})`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`no source file over ${SOURCE_FILE_LINES_MAX} lines`, () => {
    const over = codeFiles(SOURCE_FOLDERS, /\.ts$/).map((f) => ({ f, n: lineCount(f) })).filter((x) => x.n > SOURCE_FILE_LINES_MAX);
    assert.deepEqual(over.map((x) => `${x.f}: ${x.n} lines`), []);
  });

  test(`no function over ${HOT_FUNCTION_LINES_MAX} lines on the hot path (gateway message handler, chat tick, store commit)`, () => {
    const hot = codeFiles(['server/gateway', 'server/chat', 'server/store'], /\.ts$/).filter((f) => !/\/main\.ts$|migrations\//.test(f));
    const long = hot.flatMap(functionSpans).filter((s) => s.lines > HOT_FUNCTION_LINES_MAX);
    assert.deepEqual(long.map((s) => `${s.file}:${s.line} ${s.name}: ${s.lines} lines`), []);
  });

  test('server code reads the environment only through server/common/config', () => {
    const readers = codeFiles(['server'], /\.ts$/)
      .filter((f) => !f.startsWith('server/common/config'))
      .filter((f) => /process\.env\b/.test(readFileSync(join(REPO_ROOT, f), 'utf8')));
    assert.deepEqual(readers, []);
  });
});
