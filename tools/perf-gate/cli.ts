// The CI performance-regression gate (docs/perf-gate.md).
//
//   perf-gate run      [--baseline results/baselines/perf-gate.json] [--reps 5] [--duration 10s] [--skip 2]
//                      [--out results/<run-id>] [--slowdown-us N  (test aid; or WA_DEBUG_SLOWDOWN_US=N)]
//   perf-gate baseline [--baseline results/baselines/perf-gate.json] [--rounds 3] [--reps 5] [--duration 10s] [--skip 2]
//                      [--out results/<run-id>]
//   perf-gate judge    <run dir> [--baseline ...]   re-judge a stored run's samples.json (no measuring)
//   perf-gate ab       [--baseline-ref REF] [--pairs 5] ...   the baseline ref built beside this checkout, both
//                      measured in alternating pairs and judged within the run (./timed-ab.ts)
//
// A round runs scenarios/perf-gate.ts `--reps` times, each time on a fresh
// system and after a calibration of the machine's speed (./calibrate.ts).
// `run` measures one round and compares its samples with the baseline's
// (./stats.ts), prints the verdict table and writes verdict.txt, verdict.json,
// junit.xml and samples.json into the run's folder. `baseline` pools several
// rounds (so the baseline's spread includes the machine's drift between runs)
// and writes the baseline file.
//
// Exit codes: 0 pass, 1 regression (or lost/duplicated/reordered messages),
// 2 cannot judge (no or mismatched baseline, bad flags, a repetition failed,
// the baseline or the run measured on an oversubscribed machine: ./oversubscribed.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { debugSlowdownUs, DEBUG_SLOWDOWN_US_MAX } from '../../server/common/config';
import { REPO_ROOT } from '../../server/common/paths';
import { loadScenario } from '../../loadgen/commands/scenario-files';
import { parseDurationMs } from '../../loadgen/model/duration';
import { planRun, type RunPlan } from '../../loadgen/model/plan';
import type { Scenario } from '../../loadgen/model/scenario';
import { oversubscribed } from './oversubscribed';
import { AbUsageError, cmdAb } from './timed-ab';
import { configMismatch, gitCommit, machineInfo, readBaseline, writeRecord, BASELINE_VERSION, type GateConfig, type GateRound, type GateRunRecord } from './baseline';
import { calibrate } from './calibrate';
import { repDir, runRep } from './measure';
import { GATED_METRICS, runCalibration, samplesOf, type MetricSamples, type Rep } from './metrics';
import { median, relativeSpread } from '../../lib/regression-stats';
import { decide, renderJunit, renderTable } from './verdict';

export const EXIT_PASS = 0;
export const EXIT_REGRESSION = 1;
export const EXIT_CANNOT_JUDGE = 2;
export const BASELINE_DEFAULT = join(REPO_ROOT, 'results', 'baselines', 'perf-gate.json');
const SCENARIO = 'scenarios/perf-gate.ts';
const REPS_MIN = 3;
const REPS_MAX = 20;
const ROUNDS_MAX = 10;

class UsageError extends Error {}

interface Flags {
  baseline: string;
  reps: number;
  rounds: number;
  durationMs?: number;
  skipS: number;
  out: string;
  slowdownUs: number;
}

function parseFlags(argv: string[], mode: 'run' | 'baseline'): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      baseline: { type: 'string', default: BASELINE_DEFAULT },
      reps: { type: 'string', default: '5' },
      rounds: { type: 'string', default: mode === 'baseline' ? '3' : '1' },
      duration: { type: 'string' },
      skip: { type: 'string', default: '2' },
      out: { type: 'string' },
      'slowdown-us': { type: 'string' },
    },
  });
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < REPS_MIN || reps > REPS_MAX) throw new UsageError(`--reps must be an integer within ${REPS_MIN}..${REPS_MAX}`);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > ROUNDS_MAX) throw new UsageError(`--rounds must be an integer within 1..${ROUNDS_MAX}`);
  if (mode === 'run' && rounds !== 1) throw new UsageError('--rounds is for baseline; a gate run is one round');
  const skipS = Number(values.skip);
  if (!Number.isInteger(skipS) || skipS < 1 || skipS > 60) throw new UsageError('--skip must be whole seconds within 1..60');
  // The test aid: --slowdown-us, else WA_DEBUG_SLOWDOWN_US from the environment (validated the way the chat service does).
  let slowdownUs = debugSlowdownUs(process.env);
  if (values['slowdown-us'] !== undefined) {
    slowdownUs = Number(values['slowdown-us']);
    if (!Number.isInteger(slowdownUs) || slowdownUs < 0 || slowdownUs > DEBUG_SLOWDOWN_US_MAX) throw new UsageError(`--slowdown-us must be within 0..${DEBUG_SLOWDOWN_US_MAX}`);
  }
  if (mode === 'baseline' && slowdownUs > 0) throw new UsageError('a baseline is never measured with the slowdown knob (WA_DEBUG_SLOWDOWN_US / --slowdown-us)');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '');
  return {
    baseline: resolve(values.baseline!), reps, rounds, skipS, slowdownUs,
    durationMs: values.duration === undefined ? undefined : parseDurationMs(values.duration, '--duration'),
    out: resolve(values.out ?? join(REPO_ROOT, 'results', `${stamp}-perf-gate${mode === 'baseline' ? '-baseline' : ''}`)),
  };
}

function configOf(file: string, plan: RunPlan, skipS: number): GateConfig {
  return {
    scenario: file,
    phases: plan.executors.map((e) => `${e.name}:${e.executor}@${e.startMs}+${e.durationMs}ms:${e.executor === 'constant-vus' ? `${e.vus}vus` : `${e.rate}/${e.timeUnitMs}ms`}`),
    users: plan.traffic.users, duration_ms: plan.windowMs, skip_s: skipS,
  };
}

/** One round: `reps` repetitions, each a calibration then the scenario on a fresh system. */
async function measureRound(f: Flags, scenario: Scenario, file: string, round: number, log: (line: string) => void): Promise<GateRound> {
  const loadStart = loadavg()[0]!;
  const reps: Rep[] = [];
  for (let i = 0; i < f.reps; i++) {
    const cal = await calibrate();
    const r = await runRep({
      scenario, scenarioFile: file, durationMs: f.durationMs, skipS: f.skipS,
      outDir: repDir(join(f.out, `round-${round + 1}`), i), runId: `perf-gate-r${round + 1}-${i + 1}`, log: () => {},
    });
    reps.push({ system: r, calibration_ns_per_op: cal });
    const t = r.phases.throughput;
    const l = r.phases.latency;
    log(`  ${f.rounds > 1 ? `round ${round + 1}/${f.rounds} ` : ''}rep ${i + 1}/${f.reps}: calibration ${(cal / 1000).toFixed(2)} µs/op; ` +
      `closed loop ${t ? `${t.msgs_per_s} msg/s, ${t.cpu_us_per_msg.toFixed(1)} µs CPU/msg` : '-'}; ` +
      `fixed rate ${l ? `p50 ${l.latency_ms.p50} p95 ${l.latency_ms.p95} p99 ${l.latency_ms.p99} ms` : '-'} (load average ${loadavg()[0]!.toFixed(2)})`);
  }
  return { calibration_ns_per_op: runCalibration(reps), loadavg_start: round2(loadStart), loadavg_end: round2(loadavg()[0]!), reps };
}

async function measure(f: Flags, command: string, log: (line: string) => void): Promise<GateRunRecord> {
  const { scenario, file } = loadScenario(SCENARIO);
  const config = configOf(file, planRun(scenario, { durationMs: f.durationMs }), f.skipS);
  // The knob is read by the chat service at start; every repetition starts a fresh one with this environment.
  if (f.slowdownUs > 0) process.env.WA_DEBUG_SLOWDOWN_US = String(f.slowdownUs);
  else delete process.env.WA_DEBUG_SLOWDOWN_US;
  const machine = machineInfo();
  const started = Date.now();
  const rounds: GateRound[] = [];
  for (let k = 0; k < f.rounds; k++) rounds.push(await measureRound(f, scenario, file, k, log));
  machine.loadavg_end = loadavg().map(round2);
  // Each round is normalised by its own calibration, then the rounds are pooled.
  const samples: MetricSamples = {};
  for (const r of rounds) for (const [name, xs] of Object.entries(samplesOf(r.reps))) (samples[name] ??= []).push(...xs);
  return {
    version: BASELINE_VERSION, created_at: new Date(started).toISOString(), commit: gitCommit(), command, machine, config,
    reps: f.reps * f.rounds, rounds, debug_slowdown_us: f.slowdownUs, samples, elapsed_s: Math.round((Date.now() - started) / 100) / 10,
  };
}

function integrityOf(rec: GateRunRecord): { lost: number; duplicated: number; out_of_order: number; pass: boolean } {
  const sum = (k: 'lost' | 'duplicated' | 'out_of_order') => rec.rounds.reduce((a, r) => a + r.reps.reduce((b, x) => b + x.system[k], 0), 0);
  const i = { lost: sum('lost'), duplicated: sum('duplicated'), out_of_order: sum('out_of_order'), pass: false };
  i.pass = i.lost + i.duplicated + i.out_of_order === 0;
  return i;
}

function describeSamples(rec: GateRunRecord): string {
  return GATED_METRICS.map((m) => {
    const s = rec.samples[m.name]!;
    return `  ${m.name.padEnd(16)} median ${median(s).toFixed(3)} ${m.unit}, robust spread ${(relativeSpread(s) * 100).toFixed(1)}%  [${s.join(', ')}]`;
  }).join('\n');
}

async function cmdBaseline(argv: string[]): Promise<number> {
  const f = parseFlags(argv, 'baseline');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`perf-gate baseline: ${f.rounds} round(s) of ${f.reps} repetitions of ${SCENARIO} (fresh system + calibration each) -> ${relative(process.cwd(), f.baseline)}`);
  mkdirSync(f.out, { recursive: true });
  const rec = await measure(f, ['perf-gate', 'baseline', ...argv].join(' '), log);
  writeRecord(join(f.out, 'samples.json'), rec);
  const integrity = integrityOf(rec);
  if (!integrity.pass) {
    log(`perf-gate baseline: lost ${integrity.lost}, duplicated ${integrity.duplicated}, out of order ${integrity.out_of_order}: not a known-good build; baseline not written`);
    return EXIT_REGRESSION;
  }
  writeRecord(f.baseline, rec);
  process.stdout.write(`baseline ${rec.commit} (load average ${rec.machine.loadavg_start[0]} -> ${rec.machine.loadavg_end![0]}, ` +
    `calibration ${rec.rounds.map((r) => (r.calibration_ns_per_op / 1000).toFixed(2)).join(', ')} µs/op, ${rec.elapsed_s}s):\n${describeSamples(rec)}\n`);
  log(`wrote ${relative(process.cwd(), f.baseline)} (commit it) and ${relative(process.cwd(), f.out)}/samples.json`);
  return EXIT_PASS;
}

async function cmdRun(argv: string[]): Promise<number> {
  const f = parseFlags(argv, 'run');
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const baseline = readBaseline(f.baseline);
  const { scenario, file } = loadScenario(SCENARIO);
  // Refuse before measuring anything when the shapes differ.
  const mismatch = configMismatch(baseline.config, configOf(file, planRun(scenario, { durationMs: f.durationMs }), f.skipS));
  if (mismatch) throw new UsageError(mismatch);
  log(`perf-gate: ${f.reps} repetitions of ${SCENARIO} (fresh system + calibration each)${f.slowdownUs ? `, WA_DEBUG_SLOWDOWN_US=${f.slowdownUs}` : ''}; ` +
    `baseline ${relative(process.cwd(), f.baseline)} (${baseline.commit.slice(0, 12)}, ${baseline.created_at}, ${baseline.reps} samples)`);
  mkdirSync(f.out, { recursive: true });
  const rec = await measure(f, ['perf-gate', 'run', ...argv].join(' '), log);
  writeRecord(join(f.out, 'samples.json'), rec);
  return report(baseline, f.baseline, rec, f.out, log);
}

/** Judge a run's samples against the baseline: the table on stdout, verdict.txt, verdict.json and junit.xml in `outDir`. */
function report(baseline: GateRunRecord, baselineFile: string, rec: GateRunRecord, outDir: string, log: (line: string) => void): number {
  const verdict = decide(baseline.samples, rec.samples, integrityOf(rec));
  const header = `perf gate: ${rec.commit.slice(0, 12)} vs baseline ${baseline.commit.slice(0, 12)}; ${rec.reps} vs ${baseline.reps} samples; ` +
    `load average ${rec.machine.loadavg_start[0]} -> ${rec.machine.loadavg_end![0]}; calibration ${(rec.rounds[0]!.calibration_ns_per_op / 1000).toFixed(2)} µs/op ` +
    `(baseline ${baseline.rounds.map((r) => (r.calibration_ns_per_op / 1000).toFixed(2)).join(', ')})` +
    (rec.debug_slowdown_us ? `; WA_DEBUG_SLOWDOWN_US=${rec.debug_slowdown_us}` : '');
  // Lost, duplicated or reordered messages fail whatever the load; the timings are judged only on a machine not oversubscribed.
  const noJudge = verdict.integrity.pass ? oversubscribed(baseline, rec) : null;
  const table = `${header}\n\n${renderTable(verdict, noJudge)}\n`;
  process.stdout.write(table);
  writeFileSync(join(outDir, 'verdict.txt'), table);
  writeFileSync(join(outDir, 'verdict.json'), JSON.stringify({
    pass: verdict.pass, judged: noJudge === null, ...(noJudge ? { cannot_judge: noJudge } : {}), commit: rec.commit, created_at: rec.created_at,
    baseline: { file: relative(REPO_ROOT, baselineFile), commit: baseline.commit, created_at: baseline.created_at, samples: baseline.reps },
    debug_slowdown_us: rec.debug_slowdown_us, machine: rec.machine, elapsed_s: rec.elapsed_s, metrics: verdict.metrics, integrity: verdict.integrity,
  }, null, 1) + '\n');
  writeFileSync(join(outDir, 'junit.xml'), renderJunit(verdict, rec.elapsed_s, rec.created_at));
  log(`results: ${relative(process.cwd(), outDir)}/{verdict.txt,verdict.json,junit.xml,samples.json}`);
  if (noJudge) return EXIT_CANNOT_JUDGE;
  return verdict.pass ? EXIT_PASS : EXIT_REGRESSION;
}

/** Re-judge a stored run (its samples.json) against a baseline without measuring again. */
function cmdJudge(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { baseline: { type: 'string', default: BASELINE_DEFAULT } } });
  if (positionals.length !== 1) throw new UsageError('usage: perf-gate judge <run dir> [--baseline file]');
  const dir = resolve(positionals[0]!);
  const baselineFile = resolve(values.baseline!);
  const baseline = readBaseline(baselineFile);
  const rec = readBaseline(join(dir, 'samples.json'));
  const mismatch = configMismatch(baseline.config, rec.config);
  if (mismatch) throw new UsageError(mismatch);
  return report(baseline, baselineFile, rec, dir, (line) => process.stderr.write(`${line}\n`));
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === 'run') return await cmdRun(rest);
    if (cmd === 'baseline') return await cmdBaseline(rest);
    if (cmd === 'judge') return cmdJudge(rest);
    if (cmd === 'ab') return await cmdAb(rest, (line) => process.stderr.write(`${line}\n`));
    throw new UsageError('usage: perf-gate run|baseline|judge|ab [--baseline file] [--reps N] [--rounds N (baseline)] [--duration 10s] [--skip 2] [--out dir] [--slowdown-us N (run)]');
  } catch (err) {
    const usage = err instanceof UsageError || err instanceof AbUsageError || String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS');
    if (!usage) process.stderr.write(`perf-gate: ${(err as Error).stack}\n`);
    else process.stderr.write(`perf-gate: ${(err as Error).message}\n`);
    return EXIT_CANNOT_JUDGE;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    process.stderr.write(`perf-gate: ${(err as Error).stack ?? err}\n`);
    process.exit(EXIT_CANNOT_JUDGE);
  });
}
