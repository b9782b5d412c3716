// Scenario files as the command line names them: `scenarios/<name>.ts`,
// `<name>`, or a path to a compiled module. Scenarios are TypeScript, so a
// .ts path maps to its build under dist/; the module's default export (or
// `scenario`) is the Scenario. The perf gate and the profiler load scenarios
// the same way.
import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { DIST_DIR, REPO_ROOT } from '../../server/common/paths';
import type { Scenario } from '../model/scenario';
import { UsageError } from './errors';

/** scenarios/smoke.ts | smoke | path/x.ts | path/x.js -> the compiled module. */
export function resolveScenarioModule(arg: string): { module: string; file: string } {
  const bare = /^[A-Za-z0-9_-]+$/.test(arg);
  if (bare) return { module: join(DIST_DIR, 'scenarios', `${arg}.js`), file: `scenarios/${arg}.ts` };
  const abs = isAbsolute(arg) ? arg : resolve(process.cwd(), arg);
  if (abs.endsWith('.js')) return { module: abs, file: relative(REPO_ROOT, abs) };
  if (abs.endsWith('.ts')) {
    const rel = relative(REPO_ROOT, abs);
    if (rel.startsWith('..')) throw new UsageError(`${arg} is outside the repository; pass its compiled .js instead`);
    return { module: join(DIST_DIR, rel.replace(/\.ts$/, '.js')), file: rel };
  }
  throw new UsageError(`scenario "${arg}": expected scenarios/<name>.ts, <name> or a .js module`);
}

export function loadScenario(arg: string): { scenario: Scenario; file: string } {
  const { module, file } = resolveScenarioModule(arg);
  if (!existsSync(module)) {
    throw new UsageError(`no compiled scenario at ${relative(process.cwd(), module)} (for ${arg}); build first: npx tsc -p tsconfig.json` +
      ` (scenarios: ${listScenarioNames().join(', ') || 'none built'})`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(module) as { default?: Scenario; scenario?: Scenario };
  const scenario = mod.default ?? mod.scenario;
  if (!isScenario(scenario)) throw new UsageError(`${file} exports no load scenario (export default defineScenario({...}))`);
  return { scenario, file };
}

function isScenario(x: unknown): x is Scenario {
  const s = x as Scenario | undefined;
  return typeof s === 'object' && s !== null && typeof s.name === 'string' && typeof s.options?.scenarios === 'object';
}

export function listScenarioNames(): string[] {
  const dir = join(DIST_DIR, 'scenarios');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)).sort();
}
