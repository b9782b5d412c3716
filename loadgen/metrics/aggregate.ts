// The coordinator's view of a run's metrics: cumulative HDR histograms,
// counter sums, rate tallies and gauges, built by adding worker snapshots (or
// whole summaries, when merging shards). Thresholds and the end-of-run
// summary read values from here with k6's aggregation names.
import { LatencyHistogram } from './latency';
import { metricInfo, splitMetricName, type MetricType } from '../model/metric-catalog';
import type { Aggregation, MetricReader } from '../model/thresholds';
import type { MetricsSnapshot } from './registry';

/** The values summary.json keeps per metric (k6's JSON summary shape, plus our encoded histogram). */
export interface MetricValues {
  type: MetricType;
  values: Record<string, number>;
  /** Trends only: the cumulative HDR histogram (microseconds), compressed base64: merge from this. */
  histogram?: string;
}

export const SUMMARY_PERCENTILES = [50, 90, 95, 99, 99.9] as const;

export class MetricsAggregate implements MetricReader {
  readonly trends = new Map<string, LatencyHistogram>();
  readonly counters = new Map<string, number>();
  readonly rates = new Map<string, [number, number]>();
  /** Gauges: latest value per source (worker / shard) and the run's min/max of the sum. */
  private readonly gaugeBySource = new Map<string, Map<string, number>>();
  readonly gauges = new Map<string, { value: number; min: number; max: number }>();
  /** Measured window, for counters' per-second rates. */
  durationMs = 0;

  addSnapshot(snap: MetricsSnapshot): void {
    for (const [name, enc] of Object.entries(snap.trends)) this.trendOf(name).add(LatencyHistogram.decode(enc));
    for (const [name, n] of Object.entries(snap.counters)) this.counters.set(name, (this.counters.get(name) ?? 0) + n);
    for (const [name, [hits, total]] of Object.entries(snap.rates)) {
      const r = this.rates.get(name) ?? [0, 0];
      this.rates.set(name, [r[0] + hits, r[1] + total]);
    }
  }

  /** Latest gauge values of one source; the metric's value is the sum over sources. */
  setGauges(source: string, gauges: Record<string, number>): void {
    let mine = this.gaugeBySource.get(source);
    if (!mine) this.gaugeBySource.set(source, (mine = new Map()));
    for (const [name, v] of Object.entries(gauges)) mine.set(name, v);
    for (const name of Object.keys(gauges)) {
      let sum = 0;
      for (const src of this.gaugeBySource.values()) sum += src.get(name) ?? 0;
      this.setGauge(name, sum);
    }
  }

  setGauge(name: string, value: number): void {
    const g = this.gauges.get(name);
    if (!g) this.gauges.set(name, { value, min: value, max: value });
    else {
      g.value = value;
      if (value < g.min) g.min = value;
      if (value > g.max) g.max = value;
    }
  }

  trendOf(name: string): LatencyHistogram {
    let h = this.trends.get(name);
    if (!h) this.trends.set(name, (h = new LatencyHistogram()));
    return h;
  }

  counter(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  /**
   * A metric's value under a k6 aggregation ("p" needs `percentile`).
   * Throws when the aggregation does not apply to the metric's type (thresholds are validated before the run).
   */
  value(name: string, agg: Aggregation, percentile = 0): number {
    const type = typeOf(name);
    switch (type) {
      case 'trend': {
        const h = this.trends.get(name);
        if (!h || h.count === 0) return 0;
        const s = h.h;
        switch (agg) {
          case 'avg': return s.mean / 1000;
          case 'min': return s.minNonZeroValue / 1000;
          case 'max': return s.maxValue / 1000;
          case 'med': return h.percentileMs(50);
          case 'p': return h.percentileMs(percentile);
          case 'count': return h.count;
          default: break;
        }
        break;
      }
      case 'counter': {
        const n = this.counter(name);
        if (agg === 'count') return n;
        if (agg === 'rate') return this.durationMs > 0 ? (n * 1000) / this.durationMs : 0;
        break;
      }
      case 'rate': {
        const [hits, total] = this.rates.get(name) ?? [0, 0];
        if (agg === 'rate') return total === 0 ? 0 : hits / total;
        break;
      }
      case 'gauge': {
        if (agg === 'value') return this.gauges.get(name)?.value ?? 0;
        break;
      }
    }
    throw new Error(`aggregation ${agg} does not apply to ${type} metric ${name}`);
  }

  /** Every metric with samples, as summary.json stores it. */
  toJSON(): Record<string, MetricValues> {
    const out: Record<string, MetricValues> = {};
    for (const [name, h] of [...this.trends].sort(byName)) {
      if (h.count === 0) continue;
      const values: Record<string, number> = {
        count: h.count, avg: round3(h.h.mean / 1000), min: round3(h.h.minNonZeroValue / 1000), med: round3(h.percentileMs(50)),
        max: round3(h.h.maxValue / 1000),
      };
      for (const p of SUMMARY_PERCENTILES) values[`p(${p})`] = round3(h.percentileMs(p));
      out[name] = { type: 'trend', values, histogram: h.encode() };
    }
    for (const [name, n] of [...this.counters].sort(byName)) {
      out[name] = { type: 'counter', values: { count: n, rate: round3(this.durationMs > 0 ? (n * 1000) / this.durationMs : 0) } };
    }
    for (const [name, [hits, total]] of [...this.rates].sort(byName)) {
      out[name] = { type: 'rate', values: { rate: total === 0 ? 0 : hits / total, passes: hits, fails: total - hits } };
    }
    for (const [name, g] of [...this.gauges].sort(byName)) out[name] = { type: 'gauge', values: { ...g } };
    return out;
  }

  /** Add another run's (shard's) metrics from its summary.json; gauges keep the other's last/min/max per source. */
  addSummary(metrics: Record<string, MetricValues>, source: string): void {
    for (const [name, m] of Object.entries(metrics)) {
      switch (m.type) {
        case 'trend':
          if (!m.histogram) throw new Error(`metric ${name} has no encoded histogram: cannot merge it without loss`);
          this.trendOf(name).add(LatencyHistogram.decode(m.histogram));
          break;
        case 'counter':
          this.counters.set(name, this.counter(name) + (m.values.count ?? 0));
          break;
        case 'rate': {
          const r = this.rates.get(name) ?? [0, 0];
          this.rates.set(name, [r[0] + (m.values.passes ?? 0), r[1] + (m.values.passes ?? 0) + (m.values.fails ?? 0)]);
          break;
        }
        case 'gauge': {
          // Shards ran side by side: their values add up (VUs, connections, CPU of separate processes).
          const g = this.gauges.get(name);
          const v = m.values;
          if (!g) this.gauges.set(name, { value: v.value ?? 0, min: v.min ?? 0, max: v.max ?? 0 });
          else this.gauges.set(name, { value: g.value + (v.value ?? 0), min: g.min + (v.min ?? 0), max: g.max + (v.max ?? 0) });
          void source;
          break;
        }
      }
    }
  }
}

export function typeOf(name: string): MetricType {
  const info = metricInfo(splitMetricName(name).base);
  if (!info) throw new Error(`unknown metric ${name}`);
  return info.type;
}

function byName(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
