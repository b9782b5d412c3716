// A histogram for the hot path, exposed through prom-client's registry.
//
// Why not prom-client's Histogram: its observe() validates labels, hashes a
// label object and looks the series up on every call: ~250-700 ns measured on
// our 2-core machines, i.e. several % of the gateway's whole per-message CPU
// budget. Here an observation is a short linear scan over a Float64Array of
// bounds and three additions (~20-25 ns, measured by test/metrics-cost.test.ts).
// Labels are bound once, up front, from a fixed list of values: a series
// cannot appear at runtime, so label cardinality is bounded by construction.
//
// The registry only needs name/help/type and get(): the text exposition is
// prom-client's own, so the output is the same format as its Histogram.
import type { Metric, Registry } from 'prom-client';

/** One series: cumulative bucket counts are computed at scrape time, not per observation. */
export class HistogramSeries {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is (bounds[n-1], +Inf). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: Float64Array) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.bounds;
    const n = b.length;
    let i = 0;
    while (i < n && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export interface FastHistogramOptions<L extends string> {
  name: string;
  help: string;
  /** Upper bounds, ascending; +Inf is implied. */
  buckets: readonly number[];
  /** At most one label, with every value it may take listed here. */
  label?: { name: L; values: readonly string[] };
  registry: Registry;
}

export class FastHistogram<V extends string = string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly bounds: Float64Array;
  private readonly series = new Map<string, HistogramSeries>();
  private readonly labelName: string | null;
  /** The series of a histogram without labels. */
  readonly unlabelled: HistogramSeries;

  constructor(opts: FastHistogramOptions<string>) {
    this.name = opts.name;
    this.help = opts.help;
    for (let i = 1; i < opts.buckets.length; i++) {
      if (!(opts.buckets[i]! > opts.buckets[i - 1]!)) throw new Error(`${opts.name}: buckets must ascend`);
    }
    this.bounds = Float64Array.from(opts.buckets);
    this.labelName = opts.label?.name ?? null;
    if (opts.label) {
      if (opts.label.name === 'le') throw new Error(`${opts.name}: le is reserved`);
      for (const v of opts.label.values) this.series.set(v, new HistogramSeries(this.bounds));
      this.unlabelled = new HistogramSeries(this.bounds); // unused, keeps the field non-null
    } else {
      this.unlabelled = new HistogramSeries(this.bounds);
      this.series.set('', this.unlabelled);
    }
    opts.registry.registerMetric(this as unknown as Metric<string>);
  }

  /** Hot path: histograms without a label. */
  observe(value: number): void {
    this.unlabelled.observe(value);
  }

  /** The series for one of the label values declared up front (resolve once, keep the reference). */
  child(value: V): HistogramSeries {
    const s = this.series.get(value);
    if (!s) throw new Error(`${this.name}: label value "${value}" was not declared`);
    return s;
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: ExportedValue[] } {
    const values: ExportedValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const [labelValue, s] of this.series) {
      const base: Record<string, string> = this.labelName ? { [this.labelName]: labelValue } : {};
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { ...base, le: formatBound(this.bounds[i]!) }, value: acc, metricName: bucketName });
      }
      values.push({ labels: { ...base, le: '+Inf' }, value: s.count, metricName: bucketName });
      values.push({ labels: base, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: base, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** Bounds print as JS numbers ("0.0005"; JS switches to exponents only below 1e-6, which no bucket here uses). */
function formatBound(b: number): string {
  return String(b);
}
