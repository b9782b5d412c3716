// Latency histograms: HDR (hdr-histogram-js), recorded in microseconds with 3
// significant digits, so percentiles are exact to 0.1% and histograms from
// worker threads or shards merge without loss (encode -> decode -> add).
import * as hdr from 'hdr-histogram-js';

const HIGHEST_TRACKABLE_US = 3_600_000_000; // one hour

export interface LatencySummary {
  count: number;
  min_ms: number;
  mean_ms: number;
  p50_ms: number;
  p90_ms: number;
  p95_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
}

export class LatencyHistogram {
  readonly h: hdr.Histogram;

  constructor(from?: hdr.Histogram) {
    this.h = from ?? hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_TRACKABLE_US, numberOfSignificantValueDigits: 3 });
  }

  recordMs(ms: number): void {
    const us = Math.round(ms * 1000);
    this.h.recordValue(us < 1 ? 1 : us > HIGHEST_TRACKABLE_US ? HIGHEST_TRACKABLE_US : us);
  }

  get count(): number {
    return this.h.totalCount;
  }

  percentileMs(p: number): number {
    return this.h.totalCount === 0 ? 0 : this.h.getValueAtPercentile(p) / 1000;
  }

  add(other: LatencyHistogram): void {
    this.h.add(other.h);
  }

  reset(): void {
    this.h.reset();
  }

  /**
   * Every recorded value range once: its middle value (µs) and its count
   * (HDR keeps 3 significant digits, so a "value" is a range 0.1 % wide).
   */
  forEachRecorded(fn: (us: number, count: number) => void): void {
    // The JS build (what hdr.build returns by default) has the iterator; the Histogram interface does not declare it.
    const h = this.h as hdr.Histogram & {
      recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): { valueIteratedTo: number; countAtValueIteratedTo: number } };
      medianEquivalentValue(v: number): number;
    };
    const it = h.recordedValuesIterator;
    it.reset();
    while (it.hasNext()) {
      const v = it.next();
      fn(h.medianEquivalentValue(v.valueIteratedTo), v.countAtValueIteratedTo);
    }
  }

  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.h);
  }

  static decode(encoded: string): LatencyHistogram {
    const decoded = hdr.decodeFromCompressedBase64(encoded);
    // Ours (same range and precision): wrap it as is; anything else is re-recorded into our shape.
    if (decoded.highestTrackableValue >= HIGHEST_TRACKABLE_US && decoded.numberOfSignificantValueDigits === 3) return new LatencyHistogram(decoded);
    const out = new LatencyHistogram();
    out.h.add(decoded);
    return out;
  }

  summary(): LatencySummary {
    const h = this.h;
    const n = h.totalCount;
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: n,
      min_ms: n ? ms(h.minNonZeroValue) : 0,
      mean_ms: n ? ms(h.mean) : 0,
      p50_ms: ms(this.percentileMs(50) * 1000),
      p90_ms: ms(this.percentileMs(90) * 1000),
      p95_ms: ms(this.percentileMs(95) * 1000),
      p99_ms: ms(this.percentileMs(99) * 1000),
      p999_ms: ms(this.percentileMs(99.9) * 1000),
      max_ms: n ? ms(h.maxValue) : 0,
    };
  }
}
