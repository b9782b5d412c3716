// From a run summary to what the HTML report plots: per-interval series read
// off the timeline (latency percentiles, rates, connections, errors, CPU) and
// the run's integrity totals. The scheduled rate is not in the timeline: it
// comes from the plan's executors (the area under their rate curve over each
// interval), times this summary's share of the shards.
import type { RunSummary } from '../engine/summary';
import { hasMessageSchedule, messagesDue } from '../engine/schedule';
import { LatencyHistogram } from '../metrics/latency';

export interface IntervalSeries {
  /** Interval ends, seconds into the measured window. */
  x: number[];
  values: Record<string, (number | null)[]>;
}

/** Share of the plan this summary covers (1 for a whole run or a full merge; 1/N for one shard of N). */
export function planShare(s: RunSummary): number {
  const count = s.shards[0]?.count ?? 1;
  return Math.min(1, s.shards.length / count);
}

const xOf = (s: RunSummary) => s.timeline.map((r) => r.t_s);

/** p50 / p95 / p99 (ms) of a trend per interval; null where the interval has no sample. */
export function latencySeries(s: RunSummary, trend: string): IntervalSeries {
  const p50: (number | null)[] = [];
  const p95: (number | null)[] = [];
  const p99: (number | null)[] = [];
  for (const r of s.timeline) {
    const t = r.trends[trend];
    if (!t || t.count === 0) {
      p50.push(null);
      p95.push(null);
      p99.push(null);
      continue;
    }
    p50.push(t.p50);
    p99.push(t.p99);
    // Summaries written before the timeline kept p95: read it from the interval's histogram.
    const enc = r.histograms[trend];
    p95.push(t.p95 ?? (enc ? LatencyHistogram.decode(enc).percentileMs(95) : null));
  }
  return { x: xOf(s), values: { p50, p95, p99 } };
}

/** Messages per second: scheduled (open model only), sent, delivered. */
export function rateSeries(s: RunSummary): IntervalSeries & { scheduled: boolean } {
  const secs = s.interval_ms / 1000;
  const share = planShare(s);
  const scheduled = hasMessageSchedule(s.plan);
  // Scheduled first: the reference the others are read against.
  const values: Record<string, (number | null)[]> = scheduled ? { scheduled: [], sent: [], delivered: [] } : { sent: [], delivered: [] };
  for (const r of s.timeline) {
    if (scheduled) {
      const end = r.t_s * 1000;
      values.scheduled!.push(((messagesDue(s.plan, end) - messagesDue(s.plan, end - s.interval_ms)) * share) / secs);
    }
    values.sent!.push((r.counters.messages_sent ?? 0) / secs);
    values.delivered!.push((r.counters.messages_delivered ?? 0) / secs);
  }
  return { x: xOf(s), values, scheduled };
}

/** Gauges at each interval's end: connections open, VUs busy, VUs allocated. */
export function connectionSeries(s: RunSummary): IntervalSeries {
  const pick = (name: string) => s.timeline.map((r) => r.gauges[name] ?? 0);
  return { x: xOf(s), values: { connections: pick('connections'), vus: pick('vus'), vus_max: pick('vus_max') } };
}

/** Counters that mean something went wrong; always plotted first, the others when non-zero. */
const ERROR_COUNTERS_ALWAYS = ['errors', 'dropped_iterations'] as const;
const ERROR_COUNTERS_IF_ANY = [
  'connect_errors', 'messages_rejected', 'messages_unacknowledged', 'iteration_timeouts', 'iterations_interrupted', 'disconnects_unexpected',
] as const;

/** Error-like counters per interval (per second would hide a burst of 3 in a 1 s interval: counts). */
export function errorSeries(s: RunSummary): IntervalSeries {
  const values: Record<string, (number | null)[]> = {};
  for (const name of [...ERROR_COUNTERS_ALWAYS, ...ERROR_COUNTERS_IF_ANY]) {
    const v = s.timeline.map((r) => r.counters[name] ?? 0);
    if ((ERROR_COUNTERS_ALWAYS as readonly string[]).includes(name) || v.some((n) => n > 0)) values[name] = v;
  }
  return { x: xOf(s), values };
}

/** The load generator's CPU (% of one core): the process and its busiest worker thread. */
export function cpuSeries(s: RunSummary): IntervalSeries {
  return {
    x: xOf(s),
    values: {
      process: s.timeline.map((r) => r.loadgen_cpu_percent ?? null),
      busiest_thread: s.timeline.map((r) => r.busiest_thread_cpu_percent ?? null),
    },
  };
}

/** Integrity totals; `bad` marks the ones that must be zero. */
export function integrityCounts(s: RunSummary): { metric: string; label: string; value: number; bad: boolean }[] {
  const count = (m: string) => s.metrics[m]?.values.count ?? 0;
  const rows = [
    { metric: 'messages_sent', label: 'sent', value: count('messages_sent'), bad: false },
    { metric: 'messages_delivered', label: 'delivered', value: count('messages_delivered'), bad: false },
    { metric: 'delivery_lost', label: 'lost', value: count('delivery_lost'), bad: count('delivery_lost') > 0 },
    { metric: 'delivery_duplicated', label: 'duplicated', value: count('delivery_duplicated'), bad: count('delivery_duplicated') > 0 },
    { metric: 'delivery_out_of_order', label: 'out of order', value: count('delivery_out_of_order'), bad: count('delivery_out_of_order') > 0 },
  ];
  // Expected after reconnects / offline recipients; shown only when they happened.
  for (const [metric, label] of [['delivery_redelivered', 'redelivered (replay)'], ['delivery_queued_offline', 'queued offline']] as const) {
    if (count(metric) > 0) rows.push({ metric, label, value: count(metric), bad: false });
  }
  return rows;
}

/** Media bytes per second per interval (traffic.mediaShare > 0): ciphertext uploaded and downloaded. */
export function mediaBandwidthSeries(s: RunSummary): IntervalSeries {
  const secs = s.interval_ms / 1000;
  const per = (name: string) => s.timeline.map((r) => (r.counters[name] ?? 0) / secs);
  return { x: xOf(s), values: { up: per('media_bytes_up'), down: per('media_bytes_down') } };
}
