// What the open-model executors are scheduled to do, as a function of time
// into the run: the rate they are due at, and how many iterations have come
// due so far (the area under the rate curve), and how many the executors
// actually start by then (a whole number: the discrete schedule, per segment).
// The progress line, the /metrics endpoint and remote write
// (wa_loadgen_target_rate, wa_loadgen_messages_scheduled_total) and the HTML
// report read the schedule from here; closed-model executors have none (null).
import { stageValueAt, type ResolvedExecutor, type RunPlan } from '../model/plan';
import { stripedShare } from '../model/segments';
import { constantSchedule } from '../executors/constant-arrival-rate';
import { isArrivalRate, iterationsDue } from '../executors/iterations-due';
import { rampPieces, rampTimeOf } from '../executors/ramping-arrival-rate';

export { isArrivalRate, iterationsDue };

/** Workloads whose iterations are not messages (they drop or bring back users, or do nothing). */
const NON_MESSAGE_EXECS: readonly string[] = ['disconnect', 'reconnect', 'idle'];

/** One iteration of this executor sends one message (1:1 or group). */
export function sendsMessages(e: ResolvedExecutor): boolean {
  return !NON_MESSAGE_EXECS.includes(e.exec);
}

/** Iterations per second an arrival-rate executor is scheduled for at `tMs` into the run (null: closed model). */
export function scheduledRate(e: ResolvedExecutor, tMs: number): number | null {
  const local = tMs - e.startMs;
  if (local < 0 || local >= e.durationMs) return isArrivalRate(e) ? 0 : null;
  if (e.executor === 'constant-arrival-rate') return (e.rate * 1000) / e.timeUnitMs;
  if (e.executor !== 'ramping-arrival-rate') return null;
  return (stageValueAt(e.startRate, e.stages, local) * 1000) / e.timeUnitMs;
}

/** Messages the plan's arrival-rate executors scheduled by `tMs` (all shards). */
export function messagesDue(plan: RunPlan, tMs: number): number {
  let n = 0;
  for (const e of plan.executors) if (sendsMessages(e)) n += iterationsDue(e, tMs) ?? 0;
  return n;
}

/** Whether any message-sending executor has a schedule (else "scheduled" is undefined: closed model only). */
export function hasMessageSchedule(plan: RunPlan): boolean {
  return plan.executors.some((e) => sendsMessages(e) && isArrivalRate(e));
}

/**
 * Iterations of an arrival-rate executor started (or dropped) by `tMs` into the run, over all segments:
 * the n with timeOf(n) <= t, before the executor's end, from the executors' own schedule functions, so
 * after the executor's end it is exactly what they schedule (ceil of the area, not the area). Binary
 * search: O(log n) per call.
 */
export function iterationsScheduled(e: ResolvedExecutor, tMs: number): number {
  if (!isArrivalRate(e) || tMs < e.startMs) return 0;
  const local = tMs - e.startMs;
  // The ramp without its hint: the search asks for n out of order, the hint only serves increasing n.
  const pieces = e.executor === 'constant-arrival-rate' ? null : rampPieces(e.startRate, e.stages, e.timeUnitMs);
  const timeOf = pieces ? (n: number) => rampTimeOf(pieces, n) : constantSchedule(e).timeOf;
  const due = (n: number) => {
    const at = timeOf(n);
    return at <= local && at < e.durationMs;
  };
  // Every n below lo is due, hi is not (the schedule ends past its area).
  let lo = 0;
  let hi = Math.ceil(iterationsDue(e, e.startMs + e.durationMs)!) + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (due(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Messages the plan's arrival-rate executors scheduled by `tMs`, the share of these segments (a process's
 * worker threads; absent: the whole run). Executor iteration n belongs to the segment n mod count.
 */
export function messagesScheduled(plan: RunPlan, tMs: number, segments?: readonly { index: number; count: number }[]): number {
  let n = 0;
  for (const e of plan.executors) {
    if (!sendsMessages(e) || !isArrivalRate(e)) continue;
    const k = iterationsScheduled(e, tMs);
    n += segments ? segments.reduce((a, seg) => a + stripedShare(k, seg), 0) : k;
  }
  return n;
}
