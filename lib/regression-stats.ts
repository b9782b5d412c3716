// The statistics of the CI performance gate (tools/perf-gate) and of `loadgen compare`: robust
// location and spread of a few samples, a one-sided Mann–Whitney U test, and
// the rule that turns baseline vs current samples into PASS or FAIL.
//
// The rule (docs/perf-gate.md): a metric regresses when BOTH
//   1. the median moved the bad way by more than the bound, where
//      bound = max(relative bound of the metric, k x the baseline's robust
//      relative spread, the baseline's own worst sample's distance from its
//      median), so a noisy metric gets a wider bound, and a bimodal one (tail
//      latency on a shared machine: quiet windows and disturbed ones; the MAD
//      sees only the larger mode) is not failed for a value its own unchanged
//      baseline produced; and
//   2. the shift is consistent: a one-sided Mann–Whitney U test says the
//      current samples are worse than the baseline's with p <= alpha.
// (1) alone fails on one unlucky repetition; (2) alone fails on tiny but
// real shifts nobody cares about. Together a false alarm needs a large AND
// consistent move.
import { median } from './stats';

/** Enumerate the exact permutation distribution up to this many arrangements; past it, the normal approximation. */
const EXACT_ARRANGEMENTS_MAX = 200_000;
/** MAD x 1.4826 estimates the standard deviation of normal data. */
const MAD_TO_SIGMA = 1.4826;

export { median };

/** Median absolute deviation from the median. */
export function mad(xs: readonly number[]): number {
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m)));
}

/** Robust relative spread: MAD x 1.4826 / |median| (a robust coefficient of variation); 0 for a zero median. */
export function relativeSpread(xs: readonly number[]): number {
  const m = median(xs);
  return m === 0 ? 0 : (MAD_TO_SIGMA * mad(xs)) / Math.abs(m);
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

/** U = number of (x, y) pairs with x > y, ties counting 1/2. */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): number {
  let u = 0;
  for (const a of x) for (const b of y) u += a > b ? 1 : a === b ? 0.5 : 0;
  return u;
}

/**
 * One-sided p-value that `x` tends to be larger than `y` (H1: P(X > Y) > 1/2).
 * Exact (every arrangement of the pooled samples, ties included) for small
 * samples; normal approximation with tie correction otherwise.
 */
export function mannWhitneyGreaterP(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) throw new Error('Mann–Whitney needs samples on both sides');
  const observed = mannWhitneyU(x, y);
  if (binomial(n + m, n) <= EXACT_ARRANGEMENTS_MAX) return exactGreaterP(x, y, observed);
  return normalGreaterP(x, y, observed);
}

function exactGreaterP(x: readonly number[], y: readonly number[], observed: number): number {
  const pooled = [...x, ...y];
  const total = pooled.length;
  const n = x.length;
  let atLeast = 0;
  let arrangements = 0;
  const pickX: number[] = [];
  // Every way of choosing which n pooled values are "x"; count those with U >= observed.
  const walk = (start: number) => {
    if (pickX.length === n) {
      arrangements++;
      const xs: number[] = [];
      const ys: number[] = [];
      let j = 0;
      for (let i = 0; i < total; i++) {
        if (j < n && pickX[j] === i) {
          xs.push(pooled[i]!);
          j++;
        } else ys.push(pooled[i]!);
      }
      if (mannWhitneyU(xs, ys) >= observed - 1e-9) atLeast++;
      return;
    }
    for (let i = start; i <= total - (n - pickX.length); i++) {
      pickX.push(i);
      walk(i + 1);
      pickX.pop();
    }
  };
  walk(0);
  return atLeast / arrangements;
}

function normalGreaterP(x: readonly number[], y: readonly number[], observed: number): number {
  const n = x.length;
  const m = y.length;
  const N = n + m;
  const counts = new Map<number, number>();
  for (const v of [...x, ...y]) counts.set(v, (counts.get(v) ?? 0) + 1);
  let tieTerm = 0;
  for (const t of counts.values()) tieTerm += t * t * t - t;
  const variance = ((n * m) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return 1;
  const z = (observed - (n * m) / 2 - 0.5) / Math.sqrt(variance); // continuity correction
  return 1 - normalCdf(z);
}

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf; |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(z)) / Math.SQRT2);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-(z * z) / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export interface GateRule {
  /** The smallest relative worsening that can fail (0.1 = 10%). */
  relativeBound: number;
  /** Multiplier of the baseline's robust relative spread. */
  k: number;
  /** One-sided significance level of the Mann–Whitney test. */
  alpha: number;
  /** true: larger is worse (CPU per message, latency); false: smaller is worse (a rate). */
  higherIsWorse: boolean;
}

export interface Judgement {
  baselineMedian: number;
  currentMedian: number;
  /** current / baseline medians. */
  ratio: number;
  /** The relative worsening allowed: max(relativeBound, k x baseline spread, baseline excursion). */
  bound: number;
  baselineSpread: number;
  /** How far the baseline's worst sample is from its median, relative (max/median - 1 when higher is worse). */
  baselineExcursion: number;
  /** One-sided Mann–Whitney p-value that current is worse than baseline. */
  p: number;
  pass: boolean;
  /** One line saying why. */
  reason: string;
}

export function judge(baseline: readonly number[], current: readonly number[], rule: GateRule): Judgement {
  if (baseline.length < 2 || current.length < 2) throw new Error('the gate needs at least 2 samples on each side');
  const b = median(baseline);
  const c = median(current);
  const ratio = b === 0 ? (c === 0 ? 1 : Infinity) : c / b;
  const spread = relativeSpread(baseline);
  const excursion = b === 0 ? 0 : rule.higherIsWorse ? Math.max(...baseline) / b - 1 : 1 - Math.min(...baseline) / b;
  const bound = Math.max(rule.relativeBound, rule.k * spread, excursion);
  const p = rule.higherIsWorse ? mannWhitneyGreaterP(current, baseline) : mannWhitneyGreaterP(baseline, current);
  const worsening = rule.higherIsWorse ? ratio - 1 : 1 - ratio;
  const beyond = worsening > bound;
  const significant = p <= rule.alpha;
  const pass = !(beyond && significant);
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const reason = !beyond
    ? `${worsening >= 0 ? `worse by ${pct(worsening)}` : `better by ${pct(-worsening)}`}, within the bound ${pct(bound)}`
    : !significant
      ? `worse by ${pct(worsening)} > bound ${pct(bound)}, but not consistently (p=${p.toFixed(3)} > ${rule.alpha})`
      : `worse by ${pct(worsening)} > bound ${pct(bound)}, consistently (p=${p.toFixed(3)} <= ${rule.alpha})`;
  return { baselineMedian: b, currentMedian: c, ratio, bound, baselineSpread: spread, baselineExcursion: excursion, p, pass, reason };
}
