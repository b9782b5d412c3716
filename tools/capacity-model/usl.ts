// The Universal Scalability Law (Gunther) and its least-squares fit.
//
//   X(N) = lambda * N / (1 + sigma * (N - 1) + kappa * N * (N - 1))
//
// lambda: throughput per unit of concurrency with no interference (the slope at the origin),
// sigma:  contention (the serial share: queueing on a shared resource), 0 <= sigma <= 1,
// kappa:  coherency (the cost of keeping N workers consistent: crosstalk), kappa >= 0.
// With kappa > 0 throughput peaks at N* = sqrt((1 - sigma) / kappa) and then falls:
// past N* adding load (or nodes) makes things worse.
//
// The fit minimises the sum of squared throughput residuals in two steps:
//   1. a log-spaced search over lambda, each lambda solving the linearised model
//      lambda*N/X - 1 = sigma*(N-1) + kappa*N*(N-1) for (sigma, kappa) by constrained linear least squares;
//   2. Levenberg-Marquardt on (lambda, sigma, kappa) from the best of those, with Marquardt's diagonal
//      scaling (kappa is orders of magnitude smaller than lambda) and the bounds enforced by projection.
// Sanity fallback: a step-2 result that is worse than step 1, or not finite, is discarded; with too few
// distinct points, or nothing finite, the fit degrades to the linear model X = lambda*N and says so.

export interface UslParams {
  lambda: number;
  sigma: number;
  kappa: number;
}

export interface UslInputPoint {
  concurrency: number;
  throughput_per_s: number;
}

export type UslMethod = 'levenberg-marquardt' | 'linearised-search' | 'linear-fallback';

export interface UslFit extends UslParams {
  method: UslMethod;
  points: number;
  iterations: number;
  sse: number;
  rmse_per_s: number;
  r_squared: number;
  /** N* = sqrt((1 - sigma) / kappa); Infinity when kappa = 0. */
  peak_concurrency: number;
  /** X(N*), or the asymptote lambda / sigma when kappa = 0 (Infinity when sigma = 0 too). */
  peak_throughput_per_s: number;
  concurrency_observed_max: number;
  warnings: string[];
}

/** Fewest distinct concurrency levels for a three-parameter fit. */
export const USL_DISTINCT_POINTS_MIN = 4;
const LAMBDA_SEARCH_STEPS = 240;
const LAMBDA_SEARCH_SPAN_LOW = 0.25;
const LAMBDA_SEARCH_SPAN_HIGH = 8;
const LM_ITERATIONS_MAX = 500;
const LM_DAMPING_MAX = 1e12;
const LM_RELATIVE_TOLERANCE = 1e-14;
/** A peak this many times past the largest observed concurrency is an extrapolation, and labelled so. */
const PEAK_EXTRAPOLATION_WARN_RATIO = 4;

export function uslThroughput(p: UslParams, n: number): number {
  return (p.lambda * n) / (1 + p.sigma * (n - 1) + p.kappa * n * (n - 1));
}

export function uslPeakConcurrency(p: UslParams): number {
  return p.kappa > 0 ? Math.sqrt((1 - p.sigma) / p.kappa) : Infinity;
}

function sse(points: readonly UslInputPoint[], p: UslParams): number {
  let s = 0;
  for (const pt of points) {
    const r = pt.throughput_per_s - uslThroughput(p, pt.concurrency);
    s += r * r;
  }
  return s;
}

function clamp(p: UslParams): UslParams {
  return {
    lambda: Math.max(p.lambda, Number.MIN_VALUE),
    sigma: Math.min(1, Math.max(0, p.sigma)),
    kappa: Math.max(0, p.kappa),
  };
}

/** For a fixed lambda: least squares of y = sigma*a + kappa*b with sigma in [0,1], kappa >= 0. */
function linearisedSigmaKappa(points: readonly UslInputPoint[], lambda: number): UslParams | null {
  let saa = 0, sab = 0, sbb = 0, say = 0, sby = 0;
  for (const pt of points) {
    const n = pt.concurrency;
    if (!(pt.throughput_per_s > 0)) continue;
    const y = (lambda * n) / pt.throughput_per_s - 1;
    const a = n - 1;
    const b = n * (n - 1);
    saa += a * a; sab += a * b; sbb += b * b; say += a * y; sby += b * y;
  }
  const candidates: UslParams[] = [];
  const det = saa * sbb - sab * sab;
  if (Math.abs(det) > 1e-300) candidates.push({ lambda, sigma: (say * sbb - sby * sab) / det, kappa: (sby * saa - say * sab) / det });
  if (saa > 0) candidates.push({ lambda, sigma: say / saa, kappa: 0 }); // kappa on its bound
  if (sbb > 0) candidates.push({ lambda, sigma: 0, kappa: sby / sbb }); // sigma on its bound
  if (sbb > 0) candidates.push({ lambda, sigma: 1, kappa: Math.max(0, (sby - sab) / sbb) });
  candidates.push({ lambda, sigma: 0, kappa: 0 });
  const feasible = candidates.map(clamp).filter((c) => Number.isFinite(c.sigma) && Number.isFinite(c.kappa));
  if (feasible.length === 0) return null;
  let best = feasible[0]!;
  let bestSse = sse(points, best);
  for (const c of feasible.slice(1)) {
    const s = sse(points, c);
    if (s < bestSse) [best, bestSse] = [c, s];
  }
  return best;
}

function linearisedSearch(points: readonly UslInputPoint[]): UslParams | null {
  const slopeMax = Math.max(...points.map((p) => p.throughput_per_s / p.concurrency));
  if (!(slopeMax > 0) || !Number.isFinite(slopeMax)) return null;
  const lo = Math.log(slopeMax * LAMBDA_SEARCH_SPAN_LOW);
  const hi = Math.log(slopeMax * LAMBDA_SEARCH_SPAN_HIGH);
  let best: UslParams | null = null;
  let bestSse = Infinity;
  for (let i = 0; i <= LAMBDA_SEARCH_STEPS; i++) {
    const lambda = Math.exp(lo + ((hi - lo) * i) / LAMBDA_SEARCH_STEPS);
    const cand = linearisedSigmaKappa(points, lambda);
    if (!cand) continue;
    const s = sse(points, cand);
    if (s < bestSse) [best, bestSse] = [cand, s];
  }
  return best;
}

/** Solve the 3x3 system A x = b by Gaussian elimination with partial pivoting; null if singular. */
function solve3(a: number[][], b: number[]): number[] | null {
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < 3; col++) {
    let pivot = col;
    for (let r = col + 1; r < 3; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (Math.abs(m[pivot]![col]!) < 1e-300) return null;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let r = col + 1; r < 3; r++) {
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c < 4; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  const x = [0, 0, 0];
  for (let r = 2; r >= 0; r--) {
    let s = m[r]![3]!;
    for (let c = r + 1; c < 3; c++) s -= m[r]![c]! * x[c]!;
    x[r] = s / m[r]![r]!;
  }
  return x.every(Number.isFinite) ? x : null;
}

function levenbergMarquardt(points: readonly UslInputPoint[], start: UslParams): { params: UslParams; iterations: number } {
  let p = clamp(start);
  let current = sse(points, p);
  let damping = 1e-3;
  let iterations = 0;
  for (; iterations < LM_ITERATIONS_MAX; iterations++) {
    // Normal equations J^T J and J^T r for residuals r = X - f.
    const jtj = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
    const jtr = [0, 0, 0];
    for (const pt of points) {
      const n = pt.concurrency;
      const d = 1 + p.sigma * (n - 1) + p.kappa * n * (n - 1);
      const f = (p.lambda * n) / d;
      const j = [n / d, (-p.lambda * n * (n - 1)) / (d * d), (-p.lambda * n * n * (n - 1)) / (d * d)];
      const r = pt.throughput_per_s - f;
      for (let a = 0; a < 3; a++) {
        jtr[a]! += j[a]! * r;
        for (let b = 0; b < 3; b++) jtj[a]![b]! += j[a]! * j[b]!;
      }
    }
    let improved = false;
    while (damping < LM_DAMPING_MAX) {
      const a = jtj.map((row, i) => row.map((v, k) => (i === k ? v * (1 + damping) + 1e-300 : v)));
      const step = solve3(a, jtr);
      if (step) {
        const next = clamp({ lambda: p.lambda + step[0]!, sigma: p.sigma + step[1]!, kappa: p.kappa + step[2]! });
        const nextSse = sse(points, next);
        if (Number.isFinite(nextSse) && nextSse < current) {
          const gain = (current - nextSse) / Math.max(current, Number.MIN_VALUE);
          p = next;
          current = nextSse;
          damping = Math.max(damping / 10, 1e-12);
          improved = true;
          if (gain < LM_RELATIVE_TOLERANCE) return { params: p, iterations: iterations + 1 };
          break;
        }
      }
      damping *= 10;
    }
    if (!improved) break;
  }
  return { params: p, iterations };
}

function describe(points: readonly UslInputPoint[], p: UslParams, method: UslMethod, iterations: number, warnings: string[]): UslFit {
  const s = sse(points, p);
  const mean = points.reduce((a, pt) => a + pt.throughput_per_s, 0) / points.length;
  const sst = points.reduce((a, pt) => a + (pt.throughput_per_s - mean) ** 2, 0);
  const nMax = Math.max(...points.map((pt) => pt.concurrency));
  const peakN = uslPeakConcurrency(p);
  const peakX = Number.isFinite(peakN) ? uslThroughput(p, peakN) : p.sigma > 0 ? p.lambda / p.sigma : Infinity;
  if (Number.isFinite(peakN) && peakN > nMax * PEAK_EXTRAPOLATION_WARN_RATIO) {
    warnings.push(`the peak N* = ${peakN.toPrecision(3)} lies far past the largest measured concurrency (${nMax.toPrecision(3)}): an extrapolation`);
  }
  if (Number.isFinite(peakN) && peakN < nMax) warnings.push('the ramp went past the peak: throughput fell as concurrency grew (retrograde region measured)');
  if (!Number.isFinite(peakN)) {
    warnings.push(p.sigma > 0
      ? 'no coherency cost detected (kappa = 0): no peak; throughput approaches lambda/sigma'
      : 'no contention or coherency cost detected: throughput grows linearly over the measured range');
  }
  return {
    ...p, method, points: points.length, iterations, sse: s,
    rmse_per_s: Math.sqrt(s / points.length),
    r_squared: sst > 0 ? 1 - s / sst : 1,
    peak_concurrency: peakN, peak_throughput_per_s: peakX,
    concurrency_observed_max: nMax, warnings,
  };
}

export function fitUsl(input: readonly UslInputPoint[]): UslFit {
  const points = input.filter((p) => p.concurrency > 0 && Number.isFinite(p.concurrency) && Number.isFinite(p.throughput_per_s) && p.throughput_per_s >= 0);
  if (points.length === 0) throw new Error('USL fit: no usable points (need concurrency > 0 and a finite throughput)');
  const warnings: string[] = [];
  if (points.length < input.length) warnings.push(`${input.length - points.length} unusable point(s) dropped`);
  const distinct = new Set(points.map((p) => p.concurrency.toPrecision(6))).size;
  const linear = (): UslFit => {
    const lambda = points.reduce((a, p) => a + p.throughput_per_s / p.concurrency, 0) / points.length;
    return describe(points, { lambda, sigma: 0, kappa: 0 }, 'linear-fallback', 0, warnings);
  };
  if (distinct < USL_DISTINCT_POINTS_MIN) {
    warnings.push(`only ${distinct} distinct concurrency level(s); a USL fit needs ${USL_DISTINCT_POINTS_MIN}: linear model X = lambda*N only`);
    return linear();
  }
  const start = linearisedSearch(points);
  if (!start || !Number.isFinite(sse(points, start))) {
    warnings.push('the linearised search found nothing finite: linear model only');
    return linear();
  }
  const refined = levenbergMarquardt(points, start);
  if (Number.isFinite(sse(points, refined.params)) && sse(points, refined.params) <= sse(points, start)) {
    return describe(points, refined.params, 'levenberg-marquardt', refined.iterations, warnings);
  }
  warnings.push('Levenberg-Marquardt did not improve on the linearised search; kept the search result');
  return describe(points, start, 'linearised-search', 0, warnings);
}
