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

  /**
   * Add another histogram's counts. Same shape (always, for ours): only the
   * other's counts up to its max are walked, not the whole ~45k-slot array the
   * library's add() walks (that walk was ~30% of the coordinator thread: a few
   * adds per trend per worker per interval).
   */
  add(other: LatencyHistogram): void {
    const a = this.h as unknown as RawHistogram;
    const b = other.h as unknown as RawHistogram;
    if (!sameTypedShape(a, b)) return this.h.add(other.h);
    if (b.totalCount === 0) return;
    const src = b._counts;
    const top = b.countsArrayIndex(b.maxValue);
    let total = 0;
    for (let i = 0; i <= top; i++) {
      const c = src[i]!;
      if (c > 0) {
        a.addToCountAtIndex(i, c); // checks overflow as the library's add does
        total += c;
      }
    }
    a.setTotalCount(a.totalCount + total);
    a.updatedMaxValue(Math.max(a.maxValue, b.maxValue));
    a.updateMinNonZeroValue(Math.min(a.minNonZeroValue, b.minNonZeroValue));
  }

  /**
   * Several percentiles (ascending) in one walk of the counts, each equal to
   * percentileMs(p) (same rounding of the count as getValueAtPercentile).
   */
  percentilesMs(ps: readonly number[]): number[] {
    const out = new Array<number>(ps.length).fill(0);
    const h = this.h as unknown as RawHistogram;
    const n = h.totalCount;
    if (n === 0) return out;
    if (!sameTypedShape(h, h)) return ps.map((p) => this.percentileMs(p));
    const counts = h._counts;
    const top = h.countsArrayIndex(h.maxValue);
    let k = 0;
    let want = countAtPercentile(ps[0]!, n);
    let sum = 0;
    for (let i = 0; i <= top && k < ps.length; i++) {
      sum += counts[i]!;
      while (k < ps.length && sum >= want) {
        const v = h.valueFromIndex(i);
        out[k] = (ps[k] === 0 ? h.lowestEquivalentValue(v) : h.highestEquivalentValue(v)) / 1000;
        k++;
        if (k < ps.length) want = countAtPercentile(ps[k]!, n);
      }
    }
    return out;
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

/** The typed-array JS histogram's internals that add() and percentilesMs() use (hdr-histogram-js JsHistogram / TypedArrayHistogram). */
interface RawHistogram {
  _counts: ArrayLike<number>;
  totalCount: number;
  maxValue: number;
  minNonZeroValue: number;
  countsArrayLength: number;
  bucketCount: number;
  subBucketCount: number;
  unitMagnitude: number;
  countsArrayIndex(value: number): number;
  addToCountAtIndex(index: number, count: number): void;
  setTotalCount(n: number): void;
  updatedMaxValue(v: number): void;
  updateMinNonZeroValue(v: number): void;
  valueFromIndex(i: number): number;
  lowestEquivalentValue(v: number): number;
  highestEquivalentValue(v: number): number;
}

function sameTypedShape(a: RawHistogram, b: RawHistogram): boolean {
  return (
    a._counts !== undefined && b._counts !== undefined && typeof a.addToCountAtIndex === 'function' &&
    a.countsArrayLength === b.countsArrayLength && a.bucketCount === b.bucketCount &&
    a.subBucketCount === b.subBucketCount && a.unitMagnitude === b.unitMagnitude
  );
}

/** The count a percentile must reach, as hdr-histogram-js's getValueAtPercentile rounds it. */
function countAtPercentile(p: number, total: number): number {
  const fp = (Math.min(p, 100) / 100) * total;
  return Math.max(Math.ceil(fp - (fp > 0 ? 2 ** (Math.floor(Math.log2(fp)) - 52) : 0)), 1);
}
