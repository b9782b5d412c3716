// What the remote-write output (./remote-write.ts) pushes for one interval:
// the run's series, each with the run's labels (job, run_id, scenario, shard).
//
//   counters   wa_loadgen_<name>_total (cumulative, like /metrics)
//   rates      wa_loadgen_<name>_ratio (the share so far)
//   gauges     wa_loadgen_vus, wa_loadgen_allocated_vus, wa_loadgen_connections
//   trends     wa_loadgen_<name>_interval_seconds{quantile="0.5"|"0.95"|"0.99"|"1"}: the interval's
//              percentiles from its HDR histogram (what k6's remote write sends for trends)
//   schedule   wa_loadgen_messages_scheduled_total: messages the arrival-rate executors had scheduled
//              (this process's segments' iterations: at the end, the summary's sends_scheduled of an
//              open-model run); wa_loadgen_target_rate{executor}: iterations per second the executor
//              was scheduled for over the interval (the area under its rate curve in it / its length)
//   elapsed    wa_loadgen_elapsed_seconds: the interval's end, seconds into the measured window
//   phases     wa_loadgen_executor_active{executor}: 1 in an interval its schedule overlaps
//   faults     wa_loadgen_fault_active{fault_id, fault}: 1 in an interval the fault's window overlaps
//              (from its first step to the process back, as the summary's fault report has it)
//
// Phases come from the plan, not the executors' state at an interval's end,
// which misses an executor shorter than an interval (the smoke warm-up under
// `--duration 3s`). Faults come from the fault executor's live records: a fault
// that begins and ends inside one interval still marks it. The target rate is
// the interval's average rather than the rate at its end, for the same reason:
// an executor ending on an interval boundary would read 0 for its last
// interval, and the rates times the interval add up to the scheduled count.
import { COUNTER_NAMES, GAUGE_NAMES, RATE_NAMES } from '../model/metric-catalog';
import { hasMessageSchedule, isArrivalRate, iterationsDue, messagesScheduled } from '../engine/schedule';
import type { Segment } from '../model/segments';
import type { LiveStatus } from '../engine/output';
import { promNameOf } from './metrics-endpoint';
import type { RwSeries } from './remote-write-proto';

const QUANTILES: readonly (readonly [string, 'p50' | 'p95' | 'p99' | 'max'])[] = [['0.5', 'p50'], ['0.95', 'p95'], ['0.99', 'p99'], ['1', 'max']];

/** Families only remote write carries (the /metrics endpoint has histograms and no interval flags). */
export const REMOTE_WRITE_ONLY_FAMILIES: readonly string[] = ['wa_loadgen_executor_active', 'wa_loadgen_fault_active'];

/** Whether a fault's window [started, ended] overlaps the interval [fromMs, toMs); in progress (no end yet) counts as open. */
export function faultOverlaps(w: { started_ms: number | null; ended_ms: number | null }, fromMs: number, toMs: number): boolean {
  return w.started_ms !== null && w.started_ms < toMs && (w.ended_ms === null || w.ended_ms >= fromMs);
}

/**
 * One interval's series (labels sorted, __name__ first, as Prometheus requires). `share`: this process's
 * part of the plan (its segments, and how many processes share it): each pushes its share of the schedule,
 * sum() over shards is the run.
 */
export function seriesOf(live: LiveStatus, base: Record<string, string>, timestampMs: number,
  share: { shards: number; segments?: readonly Segment[] } = { shards: 1 }): RwSeries[] {
  const out: RwSeries[] = [];
  const add = (name: string, value: number, extra: Record<string, string> = {}) => {
    const labels = Object.entries({ ...base, ...extra }).sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, v]) => ({ name: n, value: v }));
    out.push({ labels: [{ name: '__name__', value: name }, ...labels], samples: [{ value, timestamp: timestampMs }] });
  };
  for (const c of COUNTER_NAMES) add(promNameOf(c)!, live.agg.counter(c));
  for (const r of RATE_NAMES) {
    const [hits, total] = live.agg.rates.get(r) ?? [0, 0];
    if (total > 0) add(promNameOf(r)!, hits / total);
  }
  for (const g of GAUGE_NAMES) {
    const name = promNameOf(g);
    const v = live.last.gauges[g];
    if (name && v !== undefined) add(name, v);
  }
  for (const [trend, t] of Object.entries(live.last.trends)) {
    if (trend.includes('{') || t.count === 0) continue;
    for (const [q, k] of QUANTILES) add(`wa_loadgen_${trend}_interval_seconds`, (t[k] ?? t.p99) / 1000, { quantile: q });
  }
  const plan = live.plan;
  const [from, to] = [live.elapsedMs - live.intervalMs, live.elapsedMs];
  add('wa_loadgen_elapsed_seconds', to / 1000);
  if (hasMessageSchedule(plan)) add('wa_loadgen_messages_scheduled_total', messagesScheduled(plan, to, share.segments));
  for (const e of plan.executors.filter(isArrivalRate)) {
    const due = (iterationsDue(e, to)! - iterationsDue(e, from)!) / share.shards;
    add('wa_loadgen_target_rate', (due * 1000) / live.intervalMs, { executor: e.name });
  }
  for (const e of plan.executors) add('wa_loadgen_executor_active', e.startMs < to && e.startMs + e.durationMs > from ? 1 : 0, { executor: e.name });
  const windows = new Map((live.faults ?? []).map((w) => [w.id, w]));
  for (const f of plan.faults) {
    const w = windows.get(f.id);
    add('wa_loadgen_fault_active', w && faultOverlaps(w, from, to) ? 1 : 0, { fault_id: String(f.id), fault: f.label });
  }
  return out;
}
