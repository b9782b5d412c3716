// `loadgen compare <run A> <run B>`: two run summaries side by side. Trend
// percentiles are recomputed from each run's stored HDR histogram (not read
// off the rounded values), counters are shown as totals and per second of the
// measured window, integrity counts and CPU per message get their own rows,
// and where both timelines have enough intervals the perf gate's rule
// (lib/regression-stats.ts) judges B against A on the per-interval samples.
//
// Why per-interval samples: one run is one sample of its totals, so the gate's
// Mann–Whitney test needs something repeated inside a run; intervals are that,
// but they are not independent (a slow second tends to follow a slow second),
// so a p-value here is a guide, not the gate's verdict on repetitions.
import { judge, type GateRule, type Judgement } from '../../lib/regression-stats';
import { LatencyHistogram } from '../metrics/latency';
import type { RunSummary } from './summary';

/** Percentiles shown per trend (k6's summary ones plus the tail). */
export const COMPARE_PERCENTILES = [50, 90, 95, 99, 99.9] as const;
/** The gate needs at least 2 samples a side (lib/regression-stats.ts judge()). */
const SAMPLES_MIN = 2;
/**
 * The rule for per-interval samples. Bounds as the perf gate's latency metrics (tools/perf-gate/metrics.ts):
 * 25 % for medians and rates, 50 % for tails; k = 2 and alpha = 0.02 as there, since intervals are noisier than repetitions, not calmer.
 */
const RULE_BASE = { k: 2, alpha: 0.02 } as const;

export interface SideBySide {
  a: number | null;
  b: number | null;
  /** b / a; null when either is missing or a is 0. */
  ratio: number | null;
}

export interface TrendComparison {
  metric: string;
  count: SideBySide;
  mean_ms: SideBySide;
  min_ms: SideBySide;
  max_ms: SideBySide;
  /** Keyed by percentile as text ("50", "99.9"). */
  percentiles_ms: Record<string, SideBySide>;
}

export interface StatRow {
  /** What the samples are ("delivery_latency p99 per interval"). */
  metric: string;
  unit: string;
  samples: { a: number; b: number };
  /** null: fewer than SAMPLES_MIN intervals with data on a side. */
  judgement: (Judgement & { higherIsWorse: boolean }) | null;
}

export interface Comparison {
  a: RunRef;
  b: RunRef;
  trends: TrendComparison[];
  counters: { metric: string; count: SideBySide; per_s: SideBySide }[];
  rates: { metric: string; rate: SideBySide }[];
  integrity: { metric: string; count: SideBySide; must_be_zero: boolean }[];
  /** µs of CPU per message sent: the generator (whole process) and the system's processes (when the run started them). */
  cpu_per_message_us: { loadgen: SideBySide; system: SideBySide; by_process: Record<string, SideBySide> };
  statistics: StatRow[];
  /** B worse than A by the gate's rule on some per-interval metric. */
  regressed: string[];
}

export interface RunRef {
  run_id: string;
  scenario: string;
  started_at: string;
  measured_s: number;
  command: string;
}

const INTEGRITY: readonly (readonly [string, boolean])[] = [
  ['messages_sent', false], ['messages_delivered', false], ['delivery_lost', true], ['delivery_duplicated', true],
  ['delivery_out_of_order', true], ['sends_failed', true], ['dropped_iterations', true],
];

function pair(a: number | null | undefined, b: number | null | undefined): SideBySide {
  const x = a ?? null;
  const y = b ?? null;
  return { a: x, b: y, ratio: x === null || y === null || x === 0 ? null : round4(y / x) };
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** A trend's cumulative histogram from a summary (null: the run has no such trend or no stored histogram). */
export function trendHistogram(s: RunSummary, metric: string): LatencyHistogram | null {
  const enc = s.metrics[metric]?.histogram;
  return enc ? LatencyHistogram.decode(enc) : null;
}

function compareTrend(a: RunSummary, b: RunSummary, metric: string): TrendComparison {
  const ha = trendHistogram(a, metric);
  const hb = trendHistogram(b, metric);
  const of = (h: LatencyHistogram | null, f: (h: LatencyHistogram) => number) => (h && h.count > 0 ? f(h) : null);
  const percentiles_ms: Record<string, SideBySide> = {};
  for (const p of COMPARE_PERCENTILES) percentiles_ms[String(p)] = pair(of(ha, (h) => h.percentileMs(p)), of(hb, (h) => h.percentileMs(p)));
  const sum = (h: LatencyHistogram | null) => h?.summary() ?? null;
  const sa = sum(ha);
  const sb = sum(hb);
  return {
    metric,
    count: pair(ha?.count ?? null, hb?.count ?? null),
    mean_ms: pair(sa && sa.count ? sa.mean_ms : null, sb && sb.count ? sb.mean_ms : null),
    min_ms: pair(sa && sa.count ? sa.min_ms : null, sb && sb.count ? sb.min_ms : null),
    max_ms: pair(sa && sa.count ? sa.max_ms : null, sb && sb.count ? sb.max_ms : null),
    percentiles_ms,
  };
}

function namesOfType(a: RunSummary, b: RunSummary, type: string): string[] {
  const names = new Set<string>();
  for (const s of [a, b]) for (const [n, m] of Object.entries(s.metrics)) if (m.type === type) names.add(n);
  return [...names].sort();
}

function counterOf(s: RunSummary, metric: string): number {
  return s.metrics[metric]?.values.count ?? 0;
}

/** CPU µs per message sent; null when nothing was sent or the CPU is unknown. */
function cpuPerMessage(s: RunSummary): { loadgen: number | null; system: number | null; byProcess: Record<string, number> } {
  const sent = counterOf(s, 'messages_sent');
  const secs = s.phases.measured_ms / 1000;
  const per = (cpuS: number) => (sent > 0 ? round4((cpuS * 1e6) / sent) : null);
  const byProcess: Record<string, number> = {};
  let systemS = 0;
  for (const [name, u] of Object.entries(s.system ?? {})) {
    systemS += u.cpu_s;
    const v = per(u.cpu_s);
    if (v !== null) byProcess[name] = v;
  }
  return { loadgen: per((s.loadgen.cpu_percent_avg / 100) * secs), system: s.system ? per(systemS) : null, byProcess };
}

/** The per-interval samples a statistic is judged on (intervals with no data left out). */
interface IntervalStat {
  metric: string;
  unit: string;
  higherIsWorse: boolean;
  relativeBound: number;
  of: (s: RunSummary) => number[];
}

function intervalStats(): IntervalStat[] {
  const latency = (q: 'p50' | 'p99', bound: number): IntervalStat => ({
    metric: `delivery_latency ${q} per interval`, unit: 'ms', higherIsWorse: true, relativeBound: bound,
    of: (s) => s.timeline.filter((r) => (r.trends.delivery_latency?.count ?? 0) > 0).map((r) => r.trends.delivery_latency![q]),
  });
  // Intervals with no send (a closed model's idle tail, the grace) are not samples of the rate.
  const perSecond = (counter: string): IntervalStat => ({
    metric: `${counter} per second per interval`, unit: '/s', higherIsWorse: false, relativeBound: 0.25,
    of: (s) => s.timeline.filter((r) => (r.counters[counter] ?? 0) > 0).map((r) => (r.counters[counter]! * 1000) / s.interval_ms),
  });
  return [latency('p50', 0.25), latency('p99', 0.5), perSecond('messages_sent'), perSecond('messages_delivered')];
}

function statistics(a: RunSummary, b: RunSummary): StatRow[] {
  return intervalStats().map((st) => {
    const xa = st.of(a);
    const xb = st.of(b);
    const rule: GateRule = { ...RULE_BASE, relativeBound: st.relativeBound, higherIsWorse: st.higherIsWorse };
    const judgement = xa.length >= SAMPLES_MIN && xb.length >= SAMPLES_MIN ? { ...judge(xa, xb, rule), higherIsWorse: st.higherIsWorse } : null;
    return { metric: st.metric, unit: st.unit, samples: { a: xa.length, b: xb.length }, judgement };
  });
}

function refOf(s: RunSummary): RunRef {
  return { run_id: s.run_id, scenario: s.scenario.name, started_at: s.started_at, measured_s: s.phases.measured_ms / 1000, command: s.command };
}

/** Run B against run A (A is the reference: ratios are B / A). */
export function compareRuns(a: RunSummary, b: RunSummary): Comparison {
  const secsA = a.phases.measured_ms / 1000;
  const secsB = b.phases.measured_ms / 1000;
  const counters = namesOfType(a, b, 'counter').map((metric) => ({
    metric,
    count: pair(a.metrics[metric] ? counterOf(a, metric) : null, b.metrics[metric] ? counterOf(b, metric) : null),
    per_s: pair(a.metrics[metric] && secsA > 0 ? round4(counterOf(a, metric) / secsA) : null,
      b.metrics[metric] && secsB > 0 ? round4(counterOf(b, metric) / secsB) : null),
  }));
  const rates = namesOfType(a, b, 'rate').map((metric) => ({ metric, rate: pair(a.metrics[metric]?.values.rate, b.metrics[metric]?.values.rate) }));
  const integrity = INTEGRITY.map(([metric, mustBeZero]) => ({ metric, count: pair(counterOf(a, metric), counterOf(b, metric)), must_be_zero: mustBeZero }));
  const ca = cpuPerMessage(a);
  const cb = cpuPerMessage(b);
  const procs = [...new Set([...Object.keys(ca.byProcess), ...Object.keys(cb.byProcess)])].sort();
  const stats = statistics(a, b);
  return {
    a: refOf(a), b: refOf(b),
    trends: namesOfType(a, b, 'trend').map((m) => compareTrend(a, b, m)),
    counters, rates, integrity,
    cpu_per_message_us: {
      loadgen: pair(ca.loadgen, cb.loadgen), system: pair(ca.system, cb.system),
      by_process: Object.fromEntries(procs.map((p) => [p, pair(ca.byProcess[p], cb.byProcess[p])])),
    },
    statistics: stats,
    regressed: stats.filter((s) => s.judgement && !s.judgement.pass).map((s) => s.metric),
  };
}
