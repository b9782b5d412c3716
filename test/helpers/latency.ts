// Reading latency histograms in tests.
import type { LatencyHistogram } from '../../loadgen/metrics/latency';

/** Samples >= ms, from the histogram (binary search on the percentile). */
export function countAtLeast(h: LatencyHistogram, ms: number): number {
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (h.percentileMs(mid) >= ms) hi = mid;
    else lo = mid;
  }
  return Math.round(h.count * (1 - hi / 100));
}
