// The run's timeline: one record per interval (1 s by default), summed over
// workers (and over shards when merging), with each trend's interval
// histogram kept encoded so that a merged timeline, or a breakpoint window
// spanning several intervals, is computed from the samples and not from
// averaged percentiles.
import { LatencyHistogram } from '../metrics/latency';
import { MetricsAggregate, round3 } from '../metrics/aggregate';
import type { MetricsSnapshot } from '../metrics/registry';

export interface IntervalRecord {
  index: number;
  /** End of the interval, seconds from the start of the measured window. */
  t_s: number;
  counters: Record<string, number>;
  rates: Record<string, [number, number]>;
  gauges: Record<string, number>;
  /** Readable per-interval figures of each trend (p95 since the HTML report; older files: decode `histograms`). */
  trends: Record<string, { count: number; p50: number; p95?: number; p99: number; max: number }>;
  /** The interval's histograms, compressed base64 (microseconds): the lossless part. */
  histograms: Record<string, string>;
  /** Load generator CPU during the interval, % of one core (process) and the busiest worker thread. */
  loadgen_cpu_percent?: number;
  busiest_thread_cpu_percent?: number;
  /** The coordinator's own thread (aggregation, outputs). */
  main_thread_cpu_percent?: number;
  /** CPU seconds each server process used in the interval, by name (only when the run started the system). */
  system_cpu_s?: Record<string, number>;
  /** Resident memory at the end of the interval: the load generator process (summed over shards), each server process by name. */
  loadgen_rss_bytes?: number;
  system_rss_bytes?: Record<string, number>;
}

/**
 * Sum interval snapshots (from workers or shards) into one record; with
 * `agg`, also add them to the run's cumulative metrics (each histogram is
 * decoded once for both).
 */
export function intervalRecord(index: number, intervalMs: number, snaps: readonly MetricsSnapshot[], agg?: MetricsAggregate): IntervalRecord {
  const hists = new Map<string, LatencyHistogram>();
  const rec: IntervalRecord = { index, t_s: round3(((index + 1) * intervalMs) / 1000), counters: {}, rates: {}, gauges: {}, trends: {}, histograms: {} };
  for (const s of snaps) {
    for (const [name, enc] of Object.entries(s.trends)) {
      const decoded = LatencyHistogram.decode(enc);
      agg?.trendOf(name).add(decoded);
      const h = hists.get(name);
      // The first snapshot's histogram becomes the interval's; later ones add to it.
      if (!h) hists.set(name, decoded);
      else h.add(decoded);
    }
    if (agg) agg.addSnapshot({ trends: {}, counters: s.counters, rates: s.rates, gauges: {} });
    for (const [name, n] of Object.entries(s.counters)) rec.counters[name] = (rec.counters[name] ?? 0) + n;
    for (const [name, [a, b]] of Object.entries(s.rates)) {
      const r = rec.rates[name] ?? [0, 0];
      rec.rates[name] = [r[0] + a, r[1] + b];
    }
    for (const [name, v] of Object.entries(s.gauges)) rec.gauges[name] = (rec.gauges[name] ?? 0) + v;
  }
  for (const [name, h] of hists) {
    // Only what the record keeps, in one walk (summary() walked the counts once per percentile).
    const [p50, p95, p99] = h.percentilesMs(RECORD_PERCENTILES);
    rec.trends[name] = { count: h.count, p50: roundUs(p50!), p95: roundUs(p95!), p99: roundUs(p99!), max: roundUs(h.h.maxValue / 1000) };
    rec.histograms[name] = h.encode();
  }
  return rec;
}

const RECORD_PERCENTILES = [50, 95, 99] as const;

/** To the µs, as LatencyHistogram.summary() rounds. */
function roundUs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Back to a snapshot (to merge timelines of shards interval by interval). */
export function recordAsSnapshot(r: IntervalRecord): MetricsSnapshot {
  return { trends: { ...r.histograms }, counters: { ...r.counters }, rates: { ...r.rates }, gauges: { ...r.gauges } };
}

/** Merge several runs' timelines by interval index (shards started together with --start-at). */
export function mergeTimelines(timelines: readonly IntervalRecord[][], intervalMs: number): IntervalRecord[] {
  const byIndex = new Map<number, MetricsSnapshot[]>();
  const cpu = new Map<number, { total: number; busiest: number; rss: number }>();
  for (const tl of timelines) {
    for (const r of tl) {
      let list = byIndex.get(r.index);
      if (!list) byIndex.set(r.index, (list = []));
      list.push(recordAsSnapshot(r));
      const c = cpu.get(r.index) ?? { total: 0, busiest: 0, rss: 0 };
      c.total += r.loadgen_cpu_percent ?? 0;
      c.rss += r.loadgen_rss_bytes ?? 0;
      c.busiest = Math.max(c.busiest, r.busiest_thread_cpu_percent ?? 0);
      cpu.set(r.index, c);
    }
  }
  return [...byIndex.keys()].sort((a, b) => a - b).map((i) => {
    const rec = intervalRecord(i, intervalMs, byIndex.get(i)!);
    const c = cpu.get(i)!;
    rec.loadgen_cpu_percent = round3(c.total);
    rec.busiest_thread_cpu_percent = round3(c.busiest);
    if (c.rss > 0) rec.loadgen_rss_bytes = c.rss;
    return rec;
  });
}

/** An aggregate over a run of consecutive intervals (breakpoint windows). */
export function windowAggregate(records: readonly IntervalRecord[], intervalMs: number): MetricsAggregate {
  const agg = new MetricsAggregate();
  for (const r of records) {
    agg.addSnapshot(recordAsSnapshot(r));
    for (const [name, v] of Object.entries(r.gauges)) agg.setGauge(name, v);
  }
  agg.durationMs = records.length * intervalMs;
  return agg;
}
