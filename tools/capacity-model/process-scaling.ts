// The USL across processes of one box, from CPU per message at a fixed load:
// if N processes share a fixed load and each message costs c(N) CPU, then a
// box whose N processes were each CPU-bound would carry X(N) = N / c(N)
// (in units of one process's 1 / c(1)). The USL says
//
//   X(N) = N / (1 + sigma (N-1) + kappa N (N-1)),  so  c(N) / c(1) - 1 = sigma (N-1) + kappa N (N-1),
//
// a linear least-squares problem in (sigma, kappa) >= 0 (bench/process-scaling.ts
// measures c(1), c(2), c(4) gateway processes; hardware.ts uses the result).

export interface ProcessCostPoint {
  processes: number;
  cpu_us_per_msg: number;
}

export interface ProcessScalingFit {
  sigma: number;
  kappa: number;
  /** c(N) / c(1) per point, in the order given. */
  inflation: number[];
}

/** Least squares for y = sigma a + kappa b with both >= 0 (the 2-variable bounded problem has 4 candidates). */
function nonNegativeLeastSquares(a: number[], b: number[], y: number[]): { sigma: number; kappa: number } {
  const dot = (u: number[], v: number[]) => u.reduce((s, x, i) => s + x * v[i]!, 0);
  const sse = (s: number, k: number) => y.reduce((acc, yi, i) => acc + (yi - s * a[i]! - k * b[i]!) ** 2, 0);
  const candidates: { sigma: number; kappa: number }[] = [{ sigma: 0, kappa: 0 }];
  const aa = dot(a, a);
  const bb = dot(b, b);
  const ab = dot(a, b);
  if (aa > 0) candidates.push({ sigma: Math.max(0, dot(a, y) / aa), kappa: 0 });
  if (bb > 0) candidates.push({ sigma: 0, kappa: Math.max(0, dot(b, y) / bb) });
  const det = aa * bb - ab * ab;
  if (det > 1e-12) {
    const sigma = (bb * dot(a, y) - ab * dot(b, y)) / det;
    const kappa = (aa * dot(b, y) - ab * dot(a, y)) / det;
    if (sigma >= 0 && kappa >= 0) candidates.push({ sigma, kappa });
  }
  return candidates.reduce((best, c) => (sse(c.sigma, c.kappa) < sse(best.sigma, best.kappa) ? c : best));
}

/** Needs the 1-process point and at least one more; throws on anything else. */
export function fitProcessScaling(points: readonly ProcessCostPoint[]): ProcessScalingFit {
  const one = points.find((p) => p.processes === 1);
  if (!one) throw new Error('process scaling: no 1-process point');
  if (points.some((p) => !(Number.isInteger(p.processes) && p.processes >= 1) || !(p.cpu_us_per_msg > 0))) {
    throw new Error('process scaling: every point needs whole processes >= 1 and a positive CPU per message');
  }
  const others = points.filter((p) => p.processes > 1);
  if (others.length === 0) throw new Error('process scaling: needs a point with more than one process');
  const y = others.map((p) => p.cpu_us_per_msg / one.cpu_us_per_msg - 1);
  const fit = nonNegativeLeastSquares(others.map((p) => p.processes - 1), others.map((p) => p.processes * (p.processes - 1)), y);
  return { ...fit, inflation: points.map((p) => p.cpu_us_per_msg / one.cpu_us_per_msg) };
}
