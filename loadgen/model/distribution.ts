// Sampling the traffic model's distributions with a small seeded PRNG
// (xorshift32: ~2 ns per draw, reproducible per worker and seed).
import type { Distribution } from './scenario';

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) || 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

export type Sampler = (rng: Rng) => number;

export function validateDistribution(d: Distribution, what: string, min: number, max: number): void {
  const check = (v: number) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new Error(`${what}: ${v} is outside ${min}..${max}`);
  };
  if (typeof d === 'number') return check(d);
  if ('uniform' in d) {
    const [lo, hi] = d.uniform;
    check(lo);
    check(hi);
    if (lo > hi) throw new Error(`${what}: uniform [${lo}, ${hi}] has min > max`);
    return;
  }
  if ('weighted' in d) {
    if (!Array.isArray(d.weighted) || d.weighted.length === 0) throw new Error(`${what}: weighted needs [value, weight] pairs`);
    for (const [v, w] of d.weighted) {
      check(v);
      if (!(w > 0)) throw new Error(`${what}: weight ${w} must be > 0`);
    }
    return;
  }
  throw new Error(`${what}: expected a number, { uniform: [min, max] } or { weighted: [[value, weight], ...] }`);
}

/** A sampler returning integers (sizes, members, ms). */
export function intSampler(d: Distribution): Sampler {
  if (typeof d === 'number') {
    const v = Math.round(d);
    return () => v;
  }
  if ('uniform' in d) {
    const lo = Math.round(d.uniform[0]);
    const span = Math.round(d.uniform[1]) - lo + 1;
    return (rng) => lo + rng.int(span);
  }
  const values = d.weighted.map(([v]) => Math.round(v));
  const total = d.weighted.reduce((a, [, w]) => a + w, 0);
  const cumulative: number[] = [];
  let acc = 0;
  for (const [, w] of d.weighted) cumulative.push((acc += w / total));
  return (rng) => {
    const x = rng.next();
    for (let i = 0; i < cumulative.length; i++) if (x < cumulative[i]!) return values[i]!;
    return values[values.length - 1]!;
  };
}

export function meanOf(d: Distribution): number {
  if (typeof d === 'number') return d;
  if ('uniform' in d) return (d.uniform[0] + d.uniform[1]) / 2;
  const total = d.weighted.reduce((a, [, w]) => a + w, 0);
  return d.weighted.reduce((a, [v, w]) => a + (v * w) / total, 0);
}

export function maxOf(d: Distribution): number {
  if (typeof d === 'number') return d;
  if ('uniform' in d) return d.uniform[1];
  return Math.max(...d.weighted.map(([v]) => v));
}
