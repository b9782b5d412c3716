// What the gate compares: one sample per repetition for each gated metric,
// and the rule each metric is judged by. CPU per message is expressed in
// calibration operations (./calibrate.ts) using the run's fastest calibration
// (the machine's peak speed: the most repeatable figure a shared machine
// gives): a machine twice as fast halves both. Bounds were chosen from repeated runs
// of an unchanged build on a shared 2-core machine (docs/perf-gate.md).
import type { GateRule } from '../../lib/regression-stats';
import type { RepFigures } from './measure';

export type MetricSamples = Record<string, number[]>;

export interface GatedMetric {
  name: string;
  unit: string;
  description: string;
  rule: GateRule;
  /** The sample of one repetition, given the run's calibration (ns per calibration operation). */
  of: (rep: RepFigures, calibrationNsPerOp: number) => number;
}

/**
 * Multiplier of the baseline's robust spread. With the pooled baseline (3 rounds x 5) on this shared
 * 2-core machine, 9 runs of the unchanged build stayed within a CPU ratio of 0.91-1.16 while the
 * spread-based bound was 36% at k = 2 (k = 3: 53%, which let a 20 µs/msg slowdown through; docs/perf-gate.md).
 */
const K = 2;
/**
 * One-sided significance level. 0.02: with 3 current vs 6 baseline samples (the test's short
 * configuration) only complete separation (p = 1/84) counts; with 5 vs 15 (make perf-gate) the
 * 20 µs/msg slowdowns had p < 0.001, so sensitivity is unchanged where it matters.
 */
const ALPHA = 0.02;

function phase(r: RepFigures, name: string) {
  const p = r.phases[name];
  if (!p) throw new Error(`perf gate: no "${name}" phase in a repetition (scenario changed?)`);
  return p;
}

export const GATED_METRICS: readonly GatedMetric[] = [
  {
    name: 'cpu_per_msg',
    unit: 'cal',
    description: 'throughput proxy: CPU per message of chat service + gateway in the closed loop, in calibration operations',
    // 15%: unchanged builds reached 1.16 against a baseline from another time of day.
    rule: { relativeBound: 0.15, k: K, alpha: ALPHA, higherIsWorse: true },
    of: (r, cal) => (phase(r, 'throughput').cpu_us_per_msg * 1000) / cal,
  },
  {
    name: 'delivery_p50_ms',
    unit: 'ms',
    description: 'delivery latency p50 at the fixed rate',
    rule: { relativeBound: 0.25, k: K, alpha: ALPHA, higherIsWorse: true },
    of: (r) => phase(r, 'latency').latency_ms.p50,
  },
  {
    name: 'delivery_p95_ms',
    unit: 'ms',
    description: 'delivery latency p95 at the fixed rate',
    rule: { relativeBound: 0.5, k: K, alpha: ALPHA, higherIsWorse: true },
    of: (r) => phase(r, 'latency').latency_ms.p95,
  },
  {
    name: 'delivery_p99_ms',
    unit: 'ms',
    description: 'delivery latency p99 at the fixed rate',
    rule: { relativeBound: 0.5, k: K, alpha: ALPHA, higherIsWorse: true },
    of: (r) => phase(r, 'latency').latency_ms.p99,
  },
];

export interface Rep {
  system: RepFigures;
  /** ns per calibration operation, measured just before this repetition. */
  calibration_ns_per_op: number;
}

/** The run's calibration: the fastest of its repetitions' (interference only ever slows a calibration down). */
export function runCalibration(reps: readonly Rep[]): number {
  return Math.min(...reps.map((r) => r.calibration_ns_per_op));
}

/** Every gated metric's samples, one per repetition. */
export function samplesOf(reps: readonly Rep[]): MetricSamples {
  const cal = runCalibration(reps);
  const out: MetricSamples = {};
  for (const m of GATED_METRICS) out[m.name] = reps.map((r) => round4(m.of(r.system, cal)));
  return out;
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
