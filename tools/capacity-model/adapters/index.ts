// From a path given with --results to the capacity model's input: find the
// run's files, recognise each by its shape, and hand it to its adapter.
// Known shapes:
//   summary.json of run-pairs / pair-load   -> ./pair-load-summary.ts
//   full-vs-bare --json output              -> ./full-vs-bare.ts
//   summary.json of the load generator      -> ./loadgen-summary.ts (a breakpoint run: ./breakpoint.ts)
//   capacity-probe.json                     -> ./probe.ts
//   bench/{coordination,failover,reaccept,process-scaling} --json (kind + figures) -> ./bench-runs.ts
//   bench/scylla-store --json               -> ./store-bench.ts
// plus --usl-points files (./usl-points.ts).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { mergeMeasurements, type Measurements } from '../measured';
import { fromBenchRun, looksLikeBenchRun } from './bench-runs';
import { fromFullVsBare, looksLikeFullVsBare } from './full-vs-bare';
import { fromLoadgenSummary, looksLikeLoadgenSummary } from './loadgen-summary';
import { fromPairLoadSummary, looksLikePairLoadSummary } from './pair-load-summary';
import { fromProbe, looksLikeProbe } from './probe';
import { fromStoreBench, looksLikeStoreBench } from './store-bench';

/** Files of a run directory the adapters know, in the order they are merged. */
export const RUN_FILES = [
  'summary.json', 'full-vs-bare.json', 'capacity-probe.json', 'coordination.json', 'failover.json', 'reaccept.json', 'process-scaling.json', 'scylla-store.json',
  'media.json', 'e2ee.json',
] as const;

export function readResultFile(file: string, p99MsMax: number): Measurements {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file}: not readable JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${file}: not a JSON object`);
  if (looksLikeProbe(json)) return fromProbe(json, file);
  if (looksLikeBenchRun(json)) return fromBenchRun(json, file);
  if (looksLikeStoreBench(json)) return fromStoreBench(json, file);
  if (looksLikeLoadgenSummary(json)) return fromLoadgenSummary(json, file);
  if (looksLikeFullVsBare(json)) return fromFullVsBare(json, file, p99MsMax);
  if (looksLikePairLoadSummary(json)) return fromPairLoadSummary(json, file, p99MsMax);
  throw new Error(
    `${file}: not a results file the capacity model knows (run-pairs/ramp summary.json, full-vs-bare --json, ` +
      'load generator summary.json, capacity-probe.json, bench/coordination|failover|reaccept|process-scaling|scylla-store|media-http|e2ee --json)',
  );
}

/** A run directory (every known file in it) or one file. */
export function readResults(path: string, p99MsMax: number): Measurements {
  if (!existsSync(path)) throw new Error(`--results ${path}: no such file or directory`);
  if (!statSync(path).isDirectory()) return readResultFile(path, p99MsMax);
  const files = RUN_FILES.map((f) => join(path, f)).filter((f) => existsSync(f));
  if (files.length === 0) throw new Error(`--results ${path}: none of ${RUN_FILES.join(', ')} in it`);
  return mergeMeasurements(files.map((f) => readResultFile(f, p99MsMax)));
}

/** The newest results/<run>/ holding a summary.json (for `make capacity` without --results). */
export function newestRunDir(resultsDir: string): string | null {
  if (!existsSync(resultsDir)) return null;
  const runs = readdirSync(resultsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'baselines' && d.name !== 'reference')
    .map((d) => join(resultsDir, d.name))
    .filter((dir) => existsSync(join(dir, 'summary.json')))
    .map((dir) => ({ dir, mtimeMs: statSync(join(dir, 'summary.json')).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  return runs[0]?.dir ?? null;
}
