// The timed gate, A/B (docs/perf-gate.md, "Timed A/B"): the baseline ref built
// in its own worktree (./baseline-tree.ts) and this checkout, each measured
// with the timed gate's repetition (./measure.ts: a fresh single-process
// system, the fixed scenario, CPU per message and delivery latency), in pairs
// whose order alternates (A B, B A, A B, ...), so drift in what else the
// machine runs falls on both sides alike; judged within the run by the timed
// gate's rule (./verdict.ts). The load generator is this checkout's for both
// sides: only the system under load differs.
//
//   perf-gate ab [--baseline-ref REF] [--pairs 5] [--duration 10s] [--skip 2] [--out DIR] [--slowdown-us N (B only)]
//
// Unlike `perf-gate run`, an oversubscribed machine is judged: both sides share
// it within minutes, and the rule's bound grows with the baseline side's spread.
// Exit codes: 0 pass, 1 regression, 2 cannot judge (no baseline build, bad flags, a repetition failed).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEBUG_SLOWDOWN_US_MAX } from '../../server/common/config';
import { REPO_ROOT } from '../../server/common/paths';
import { loadScenario } from '../../loadgen/commands/scenario-files';
import { parseDurationMs } from '../../loadgen/model/duration';
import { gitCommit, machineInfo } from './baseline';
import { buildBaselineTree, defaultBaselineRef, type BaselineTree } from './baseline-tree';
import { calibrate } from './calibrate';
import { repDir, runRep } from './measure';
import { samplesOf, type Rep } from './metrics';
import { decide, renderJunit, renderTable } from './verdict';

const SCENARIO = 'scenarios/perf-gate.ts';
/** 3 vs 3 samples: the smallest one-sided Mann–Whitney p is 0.05 > alpha 0.02, so nothing could ever fail. */
const PAIRS_MIN = 4;
const PAIRS_MAX = 20;
/** tsc of the baseline tree on a loaded 2-core box takes 15-60 s. */
const BUILD_TIMEOUT_MS = 300_000;

export class AbUsageError extends Error {}

interface AbFlags {
  ref: string | null;
  why: string;
  pairs: number;
  durationMs?: number;
  skipS: number;
  out: string;
  slowdownUs: number;
}

function parseAbFlags(argv: string[]): AbFlags {
  const { values } = parseArgs({
    args: argv,
    options: {
      'baseline-ref': { type: 'string' }, pairs: { type: 'string', default: '5' }, duration: { type: 'string' },
      skip: { type: 'string', default: '2' }, out: { type: 'string' }, 'slowdown-us': { type: 'string', default: '0' },
    },
  });
  const pairs = Number(values.pairs);
  if (!Number.isInteger(pairs) || pairs < PAIRS_MIN || pairs > PAIRS_MAX) throw new AbUsageError(`--pairs must be an integer within ${PAIRS_MIN}..${PAIRS_MAX}`);
  const skipS = Number(values.skip);
  if (!Number.isInteger(skipS) || skipS < 1 || skipS > 60) throw new AbUsageError('--skip must be whole seconds within 1..60');
  const slowdownUs = Number(values['slowdown-us']);
  if (!Number.isInteger(slowdownUs) || slowdownUs < 0 || slowdownUs > DEBUG_SLOWDOWN_US_MAX) throw new AbUsageError(`--slowdown-us must be within 0..${DEBUG_SLOWDOWN_US_MAX}`);
  const wanted = values['baseline-ref'] ? { ref: values['baseline-ref'], why: 'given by --baseline-ref' } : defaultBaselineRef(REPO_ROOT);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '');
  return {
    ref: wanted.ref, why: wanted.why, pairs, skipS, slowdownUs,
    durationMs: values.duration === undefined ? undefined : parseDurationMs(values.duration, '--duration'),
    out: resolve(values.out ?? join(REPO_ROOT, 'results', `${stamp}-perf-gate-ab`)),
  };
}

/** `perf-gate ab`: returns the exit code. */
export async function cmdAb(argv: string[], log: (line: string) => void): Promise<number> {
  const f = parseAbFlags(argv);
  // The aid is B's alone: the environment must not hand it to A's processes too.
  delete process.env.WA_DEBUG_SLOWDOWN_US;
  if (!f.ref) throw new AbUsageError(`no baseline ref: ${f.why}`);
  const built = buildBaselineTree(REPO_ROOT, f.ref, BUILD_TIMEOUT_MS, log);
  if (typeof built === 'string') throw new AbUsageError(`the baseline cannot be built: ${built}`);
  const tree: BaselineTree = built;
  const cleanup = () => tree.remove();
  process.once('SIGINT', cleanup).once('SIGTERM', cleanup);
  try {
    return await measureAndJudge(f, tree, log);
  } finally {
    process.off('SIGINT', cleanup).off('SIGTERM', cleanup);
    tree.remove();
  }
}

async function measureAndJudge(f: AbFlags, tree: BaselineTree, log: (line: string) => void): Promise<number> {
  const { scenario, file } = loadScenario(SCENARIO);
  const candidate = gitCommit();
  log(`perf-gate ab: ${f.pairs} pairs of ${SCENARIO}, A = ${tree.commit.slice(0, 12)} (${f.why}), B = ${candidate.slice(0, 12)} (this checkout)` +
    `${f.slowdownUs ? `, WA_DEBUG_SLOWDOWN_US=${f.slowdownUs} on B only` : ''}`);
  mkdirSync(f.out, { recursive: true });
  const started = Date.now();
  const machine = machineInfo();
  const sides = { A: [] as Rep[], B: [] as Rep[] };
  for (let i = 0; i < f.pairs; i++) {
    for (const side of i % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
      const cal = await calibrate();
      const system = await runRep({
        scenario, scenarioFile: file, durationMs: f.durationMs, skipS: f.skipS, outDir: repDir(join(f.out, side), i),
        runId: `perf-gate-ab-${side}${i + 1}`, log: () => {},
        build: side === 'A' ? { distDir: join(tree.dir, 'dist') } : { env: f.slowdownUs ? { WA_DEBUG_SLOWDOWN_US: String(f.slowdownUs) } : {} },
      });
      if (system.exit_code !== 0 && system.exit_code !== 99) throw new AbUsageError(`pair ${i + 1} ${side}: the repetition exited ${system.exit_code}`);
      sides[side].push({ system, calibration_ns_per_op: cal });
      const t = system.phases.throughput;
      const l = system.phases.latency;
      log(`  pair ${i + 1}/${f.pairs} ${side}: calibration ${(cal / 1000).toFixed(2)} µs/op; cpu ${t?.cpu_us_per_msg.toFixed(1) ?? '-'} µs/msg; ` +
        `p50 ${l?.latency_ms.p50 ?? '-'} p99 ${l?.latency_ms.p99 ?? '-'} ms (load average ${loadavg()[0]!.toFixed(2)})`);
    }
  }
  machine.loadavg_end = loadavg().map((x) => Math.round(x * 100) / 100);
  const sum = (reps: Rep[], k: 'lost' | 'duplicated' | 'out_of_order') => reps.reduce((a, r) => a + r.system[k], 0);
  const integrity = { lost: sum(sides.B, 'lost'), duplicated: sum(sides.B, 'duplicated'), out_of_order: sum(sides.B, 'out_of_order'), pass: false };
  integrity.pass = integrity.lost + integrity.duplicated + integrity.out_of_order === 0;
  // Each side normalised by its own fastest calibration, as a timed gate round is.
  const verdict = decide(samplesOf(sides.A), samplesOf(sides.B), integrity);
  const elapsed = (Date.now() - started) / 1000;
  const table = `perf gate (timed A/B): ${candidate.slice(0, 12)} vs ${tree.commit.slice(0, 12)} built beside it; ${f.pairs} pairs, order alternating; ` +
    `load average ${machine.loadavg_start[0]} -> ${machine.loadavg_end[0]}${f.slowdownUs ? `; WA_DEBUG_SLOWDOWN_US=${f.slowdownUs} on B` : ''}\n\n${renderTable(verdict)}\n`;
  process.stdout.write(table);
  writeFileSync(join(f.out, 'verdict.txt'), table);
  writeFileSync(join(f.out, 'verdict.json'), JSON.stringify({
    pass: verdict.pass, mode: 'timed-ab', candidate, baseline: { ref: f.ref, commit: tree.commit, why: f.why }, pairs: f.pairs,
    debug_slowdown_us: f.slowdownUs, machine, elapsed_s: Math.round(elapsed * 10) / 10, metrics: verdict.metrics, integrity: verdict.integrity,
    a_integrity: { lost: sum(sides.A, 'lost'), duplicated: sum(sides.A, 'duplicated'), out_of_order: sum(sides.A, 'out_of_order') },
  }, null, 1) + '\n');
  writeFileSync(join(f.out, 'junit.xml'), renderJunit(verdict, elapsed, new Date(started).toISOString()));
  log(`results: ${f.out}/{verdict.txt,verdict.json,junit.xml}`);
  return verdict.pass ? 0 : 1;
}
