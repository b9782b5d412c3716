// The per-fault summary (summary.json `reports.faults`, the text summary's
// FAULTS block, the report's bands): each fault's window, the time until
// every probe chat was served again (./service-probe.ts), and what the run's
// metrics counted while the fault was the latest one.
//
// Attribution: the timeline is cut at each fault's start. A fault's span runs
// from the interval it began in to the interval before the next fault that
// began later (or the end of the timeline, grace included); faults that began
// together share a span (`shared_with`). Failed and retried sends, duplicates
// and reorderings are counted when they happen, so they are summed over the
// span. Lost messages are only known at the end of the run (what never
// arrived within the delivery grace), so they are the run's total, never a
// fault's (`lost_attribution: 'run'`).
import type { FaultAction, FaultTarget } from '../model/faults';
import { metricInfo } from '../model/metric-catalog';
import type { FaultRecord, FaultStep } from './fault-executor';
import type { ProbeOutcome } from './service-probe';
import type { ReadinessChange } from './readiness-monitor';
import type { IntervalRecord } from './timeline';

/**
 * The counters that count failed sends. With the client outbox's send accounting (`sends_failed`, by
 * reason as `sends_failed{reason:X}`), that one; without it, the sends that ended without a `sent` ack.
 */
export function failedSendCounters(): readonly string[] {
  return metricInfo('sends_failed') ? ['sends_failed'] : ['messages_rejected', 'messages_unacknowledged', 'iteration_timeouts'];
}

/** Sends written more than once with the same client_msg_id (the outbox after a reconnect or a retryable error). */
export const RETRIED_SEND_COUNTER = 'sends_retried';

/** A failed-send counter and its per-reason sub-counters ("sends_failed{reason:timeout}") as they appear in the timeline. */
function failedBreakdown(records: readonly IntervalRecord[]): Record<string, number> {
  const names = failedSendCounters();
  const out: Record<string, number> = {};
  for (const r of records) {
    for (const [k, v] of Object.entries(r.counters)) {
      const base = k.includes('{') ? k.slice(0, k.indexOf('{')) : k;
      if (names.includes(base) && (k !== base || names.length > 1)) out[k] = (out[k] ?? 0) + v;
    }
  }
  return out;
}

export interface FaultSummary {
  id: number;
  label: string;
  target: FaultTarget;
  index: number;
  action: FaultAction;
  planned: { at_s: number; for_s: number };
  /** The fault's window, seconds into the measured window: from the first step to the process back (or the last step). */
  window: { start_s: number; end_s: number } | null;
  down_at_s: number | null;
  restored_at_s: number | null;
  /** Every probe chat had an ack of a send issued after the disruption began (seconds into the window). */
  served_again_at_s: number | null;
  /** From the fault's start to served again: the outage users saw. */
  time_to_served_ms: number | null;
  probe: ProbeOutcome | null;
  /**
   * Server side: when the system stopped saying it was ready after the disruption, and when it said so
   * again (seconds into the window; lost null: it never noticed, e.g. a frozen process with open sockets).
   */
  readiness: { lost_at_s: number | null; back_at_s: number | null; time_to_ready_ms: number | null } | null;
  /** Timeline intervals attributed to this fault, [from_s, to_s). */
  span: { from_s: number; to_s: number };
  shared_with: number[];
  sends_failed: number;
  /** By counter (without the outbox) or by reason (`sends_failed{reason:X}`, with it); non-zero entries only. */
  sends_failed_by: Record<string, number>;
  sends_retried: number;
  duplicates: number;
  reorderings: number;
  steps: FaultStep[];
  errors: string[];
}

export interface FaultReport {
  /** How "served again" was measured. */
  served_again_method: string;
  /** What the server-side readiness is. */
  readiness_method: string;
  faults: FaultSummary[];
  /** Acknowledged messages never delivered (recipient online), over the whole run: known only at its end. */
  lost_run_total: number;
  lost_attribution: 'run';
  /** Counted before the first fault began, for comparison. */
  before_faults: { sends_failed: number; duplicates: number; reorderings: number };
  /** Faults whose steps failed or that did not complete. */
  errors: number;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;
const sec = (ms: number | null) => (ms === null ? null : round3(ms / 1000));

function sum(records: readonly IntervalRecord[], names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = records.reduce((a, r) => a + (r.counters[n] ?? 0), 0);
  return out;
}

const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);

export interface FaultMeasures {
  /** The client-side probe's outcome per fault id, and how it measures. */
  probe: Map<number, ProbeOutcome | null>;
  probeMethod: string;
  /** The server-side readiness per fault id, and what it checks. */
  readiness: Map<number, ReadinessChange | null>;
  readinessMethod: string;
}

export function faultReport(records: readonly FaultRecord[], m: FaultMeasures,
  timeline: readonly IntervalRecord[], intervalMs: number, measuredStartEpochMs: number, lostTotal: number): FaultReport {
  const startOf = (r: FaultRecord) => r.started_ms ?? r.planned_at_ms;
  const intervalOf = (ms: number) => Math.floor(ms / intervalMs);
  const starts = [...new Set(records.map(startOf).map(intervalOf))].sort((a, b) => a - b);
  const lastIndex = timeline.length ? timeline[timeline.length - 1]!.index : 0;
  const inRange = (from: number, to: number) => timeline.filter((t) => t.index >= from && t.index < to);
  const faults = records.map((r): FaultSummary => {
    const from = intervalOf(startOf(r));
    const to = starts.find((s) => s > from) ?? lastIndex + 1;
    const span = inRange(from, to);
    const failed = sum(span, failedSendCounters());
    const integrity = sum(span, ['delivery_duplicated', 'delivery_out_of_order']);
    const probe = m.probe.get(r.id) ?? null;
    const ready = m.readiness.get(r.id) ?? null;
    const rel = (epoch: number | null) => (epoch === null ? null : epoch - measuredStartEpochMs);
    const served = probe?.served_epoch_ms != null ? probe.served_epoch_ms - measuredStartEpochMs : null;
    return {
      id: r.id, label: r.label, target: r.target, index: r.index, action: r.action,
      planned: { at_s: sec(r.planned_at_ms)!, for_s: sec(r.planned_for_ms)! },
      window: r.started_ms === null ? null : { start_s: sec(r.started_ms)!, end_s: sec(r.ended_ms ?? r.started_ms)! },
      down_at_s: sec(r.down_ms), restored_at_s: sec(r.restored_ms),
      served_again_at_s: sec(served), time_to_served_ms: served === null || r.started_ms === null ? null : Math.round(served - r.started_ms),
      probe,
      readiness: ready && {
        lost_at_s: sec(rel(ready.lost_epoch_ms)), back_at_s: sec(rel(ready.back_epoch_ms)),
        time_to_ready_ms: ready.back_epoch_ms === null || r.started_ms === null ? null : Math.round(rel(ready.back_epoch_ms)! - r.started_ms),
      },
      span: { from_s: round3((from * intervalMs) / 1000), to_s: round3((to * intervalMs) / 1000) },
      shared_with: records.filter((o) => o.id !== r.id && intervalOf(startOf(o)) === from).map((o) => o.id),
      sends_failed: total(failed), sends_failed_by: failedBreakdown(span),
      sends_retried: total(sum(span, [RETRIED_SEND_COUNTER])),
      duplicates: integrity.delivery_duplicated!, reorderings: integrity.delivery_out_of_order!,
      steps: r.steps, errors: r.errors,
    };
  });
  const before = inRange(0, starts[0] ?? lastIndex + 1);
  const beforeIntegrity = sum(before, ['delivery_duplicated', 'delivery_out_of_order']);
  return {
    served_again_method: m.probeMethod, readiness_method: m.readinessMethod, faults, lost_run_total: lostTotal, lost_attribution: 'run',
    before_faults: {
      sends_failed: total(sum(before, failedSendCounters())),
      duplicates: beforeIntegrity.delivery_duplicated!, reorderings: beforeIntegrity.delivery_out_of_order!,
    },
    errors: faults.filter((f) => f.errors.length > 0 || f.window === null).length,
  };
}
