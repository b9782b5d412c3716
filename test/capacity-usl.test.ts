// The Universal Scalability Law fit recovers the coefficients that generated
// its data: exactly from clean points, closely from noisy ones, and it falls
// back to the linear model (and says so) when the data cannot carry a fit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderUslSvg } from '../tools/capacity-model/render/svg';
import { fitUsl, uslPeakConcurrency, uslThroughput, type UslParams } from '../tools/capacity-model/usl';
import type { UslPoint } from '../tools/capacity-model/measured';

/** Deterministic noise: mulberry32. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function synth(p: UslParams, ns: number[], noise = 0, seed = 1): UslPoint[] {
  const r = rng(seed);
  return ns.map((n) => ({
    concurrency: n,
    throughput_per_s: uslThroughput(p, n) * (1 + noise * (2 * r() - 1)),
    source: 'synthetic',
    concurrency_from: 'given' as const,
  }));
}

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe('USL fit', () => {
  const truth: UslParams = { lambda: 1000, sigma: 0.05, kappa: 0.0002 };
  const ns = [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128];

  test('recovers sigma, kappa and lambda from clean data', () => {
    const fit = fitUsl(synth(truth, ns));
    assert.equal(fit.method, 'levenberg-marquardt');
    assert.ok(relErr(fit.lambda, truth.lambda) < 1e-4, `lambda ${fit.lambda}`);
    assert.ok(Math.abs(fit.sigma - truth.sigma) < 1e-5, `sigma ${fit.sigma}`);
    assert.ok(relErr(fit.kappa, truth.kappa) < 1e-3, `kappa ${fit.kappa}`);
    assert.ok(fit.r_squared > 0.999999);
    // N* = sqrt((1 - 0.05) / 0.0002) = 68.92; X(N*) from the formula
    assert.ok(relErr(fit.peak_concurrency, Math.sqrt(0.95 / 0.0002)) < 1e-3);
    assert.ok(relErr(fit.peak_throughput_per_s, uslThroughput(truth, Math.sqrt(0.95 / 0.0002))) < 1e-3);
  });

  test('recovers them within a few percent from data with 2% noise', () => {
    for (const seed of [1, 2, 3]) {
      const fit = fitUsl(synth(truth, [1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 112, 128], 0.02, seed));
      assert.ok(relErr(fit.lambda, truth.lambda) < 0.05, `seed ${seed}: lambda ${fit.lambda}`);
      assert.ok(Math.abs(fit.sigma - truth.sigma) < 0.015, `seed ${seed}: sigma ${fit.sigma}`);
      assert.ok(relErr(fit.kappa, truth.kappa) < 0.25, `seed ${seed}: kappa ${fit.kappa}`);
      assert.ok(relErr(fit.peak_concurrency, uslPeakConcurrency(truth)) < 0.15, `seed ${seed}: N* ${fit.peak_concurrency}`);
    }
  });

  test("recovers a ramp's shape with fractional, Little's-law concurrency and a large lambda", () => {
    const ramp: UslParams = { lambda: 40_000, sigma: 0.02, kappa: 1e-5 };
    const fit = fitUsl(synth(ramp, [0.3, 0.8, 2, 5, 12, 30, 70, 150, 300, 600, 1000], 0.01, 7));
    assert.ok(relErr(fit.lambda, ramp.lambda) < 0.05, `lambda ${fit.lambda}`);
    assert.ok(Math.abs(fit.sigma - ramp.sigma) < 0.005, `sigma ${fit.sigma}`);
    assert.ok(relErr(fit.kappa, ramp.kappa) < 0.2, `kappa ${fit.kappa}`);
  });

  test('pure contention (kappa = 0) gives no peak, only the lambda/sigma ceiling', () => {
    const fit = fitUsl(synth({ lambda: 500, sigma: 0.1, kappa: 0 }, ns));
    assert.ok(fit.kappa < 1e-9, `kappa ${fit.kappa}`);
    assert.ok(Math.abs(fit.sigma - 0.1) < 1e-4);
    assert.equal(fit.peak_concurrency, Infinity);
    assert.ok(relErr(fit.peak_throughput_per_s, 5000) < 1e-3);
  });

  test('a ramp past the peak is reported as retrograde', () => {
    const fit = fitUsl(synth(truth, [...ns, 200, 300]));
    assert.ok(fit.warnings.some((w) => /past the peak/.test(w)));
  });

  test('too few distinct points: the linear model, with a warning, never a made-up curve', () => {
    const fit = fitUsl(synth(truth, [4, 8, 8]));
    assert.equal(fit.method, 'linear-fallback');
    assert.equal(fit.sigma, 0);
    assert.equal(fit.kappa, 0);
    assert.ok(fit.warnings.some((w) => /needs 4/.test(w)));
    assert.throws(() => fitUsl([]), /no usable points/);
  });

  test('the chart is a self-contained SVG with one marker per point, the curve and the peak', () => {
    const points = synth(truth, ns);
    const svg = renderUslSvg(points, fitUsl(points));
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal((svg.match(/<circle cx/g) ?? []).length, points.length + 1); // + the legend's
    assert.match(svg, /<path d="M/);
    assert.match(svg, /N\* = 68\.9/);
    assert.doesNotMatch(svg, /NaN|undefined/);
  });
});
