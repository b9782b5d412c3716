// Fuzz targets on fast-check: each target is a property over generated input
// (valid, almost valid, hostile) run for a bounded count or time, with its
// seed logged so a failure replays exactly. Coverage-guided fuzzing
// (Jazzer.js) does not run here (its prebuilt needs glibc 2.38): these are
// generators that know the shapes instead.
//
//   make test                   each target runs WA_FUZZ_RUNS cases (default: the target's short count)
//   make fuzz                   each target runs for WA_FUZZ_SECONDS (default 20 s) or WA_FUZZ_RUNS cases
//   WA_FUZZ_SEED=<n> node --test dist/test/fuzz-<name>.test.js    replays the run that printed that seed
//
// A counterexample found here becomes a named case in the target's file
// ("regression: ..."), so it keeps being checked however the seed changes.
import fc from 'fast-check';

/** What one target ran: printed as one line, so `make fuzz` output gives the figures per target. */
export interface FuzzFigures {
  target: string;
  seed: number;
  runs: number;
  seconds: number;
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/** The seed of this process's targets: WA_FUZZ_SEED or a fresh one. */
export function fuzzSeed(): number {
  return envInt('WA_FUZZ_SEED') ?? (Date.now() ^ (process.pid << 16)) >>> 0;
}

/**
 * Run `property` as fuzz target `target`: `shortRuns` cases by default (make test), WA_FUZZ_RUNS
 * cases when set, and with WA_FUZZ_SECONDS as many as fit in that time (capped by WA_FUZZ_RUNS, else
 * by 10 million). Throws fast-check's report (seed, path, shrunk counterexample) on a failure.
 */
export async function fuzz<Ts extends [unknown, ...unknown[]]>(
  target: string, shortRuns: number, property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
): Promise<FuzzFigures> {
  const seed = fuzzSeed();
  const seconds = envInt('WA_FUZZ_SECONDS');
  const runs = envInt('WA_FUZZ_RUNS') ?? (seconds ? 10_000_000 : shortRuns);
  const t0 = performance.now();
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, {
    seed, numRuns: runs, ...(seconds ? { interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false } : {}),
  });
  const figures = { target, seed, runs: details.numRuns, seconds: Math.round((performance.now() - t0) / 100) / 10 };
  console.log(`fuzz ${target}: ${figures.runs} cases in ${figures.seconds} s, seed ${seed}` +
    `${details.failed ? ' FAILED' : ''} (replay: WA_FUZZ_SEED=${seed} WA_FUZZ_RUNS=${runs})`);
  if (details.failed) {
    const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`fuzz target ${target} failed: ${cause}\n${fc.defaultReportMessage(details) ?? ''}`);
  }
  return figures;
}

/** Any byte string up to `bytesMax`, biased to small ones. */
export function bytes(bytesMax: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength: bytesMax });
}
