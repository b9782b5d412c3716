// Breakpoint analysis: slide a window (2 s by default) over the ramp's part
// of the timeline, judge the scenario's breakpoint thresholds on each
// window's own samples (not the cumulative run, which lags), find the break
// (the first failure that lasts `sustain`, 4 s by default; shorter ones are
// reported as blips) and report the highest delivered rate of a window that
// held before it: the node's sustained capacity under that criterion.
import { parseThresholds, evaluateAll } from '../model/thresholds';
import { parseDurationMs } from '../model/duration';
import { windowAggregate, type IntervalRecord } from './timeline';
import type { BreakpointSpec } from '../model/scenario';
import { round3 } from '../metrics/aggregate';
import type { ResolvedExecutor } from '../model/plan';

export interface BreakpointWindow {
  t_s: number;
  sent_per_s: number;
  delivered_per_s: number;
  dropped: number;
  ok: boolean;
  failed: string[];
}

export interface BreakpointReport {
  window_s: number;
  criteria: string[];
  /** Failing windows must last this long to be the break (shorter runs are blips). */
  sustain_s: number;
  /** The highest delivered messages/s of a window that held before the break (null: none held). */
  capacity_msgs_per_s: number | null;
  /** The window it was measured in. */
  capacity_at_s: number | null;
  /** True when no window broke: the capacity is at least the figure (ramp further). */
  not_reached: boolean;
  first_failure: { t_s: number; failed: string[] } | null;
  /** Failing windows before the break that did not last (reported, not taken as the capacity). */
  blips: { t_s: number; failed: string[] }[];
  /** Dropped iterations or a saturated generator thread near the capacity window: the figure may be the generator's. */
  generator_limited: boolean;
  windows: BreakpointWindow[];
}

export function analyseBreakpoint(
  spec: BreakpointSpec, timeline: readonly IntervalRecord[], intervalMs: number, measuredMs: number, executors: readonly ResolvedExecutor[],
): BreakpointReport {
  const scenarioNames = executors.map((e) => e.name);
  const judged = executors.find((e) => e.name === spec.scenario);
  // Only the judged executor's own time counts (a warm-up before the ramp is not the ramp).
  const fromMs = judged ? judged.startMs : 0;
  const toMs = Math.min(measuredMs, judged ? judged.startMs + judged.durationMs : measuredMs);
  const windowMs = parseDurationMs(spec.window ?? '2s', 'breakpoint.window');
  const span = Math.max(1, Math.round(windowMs / intervalMs));
  const thresholds = parseThresholds(spec.thresholds, scenarioNames);
  const measured = timeline.filter((r) => r.t_s * 1000 - intervalMs >= fromMs - intervalMs / 2 && r.t_s * 1000 <= toMs + intervalMs / 2);
  const windows: BreakpointWindow[] = [];
  const busy: boolean[] = [];
  for (let end = span; end <= measured.length; end++) {
    const recs = measured.slice(end - span, end);
    const agg = windowAggregate(recs, intervalMs);
    const seconds = (span * intervalMs) / 1000;
    const results = evaluateAll(thresholds, agg);
    const dropped = agg.counter('dropped_iterations');
    // Nothing delivered in the window is no evidence either way (e.g. warm-up).
    const delivered = agg.counter('messages_delivered');
    const failed = results.filter((r) => !r.ok).map((r) => `${r.metric} ${r.source} (was ${round3(r.actual)})`);
    windows.push({
      t_s: recs[recs.length - 1]!.t_s,
      sent_per_s: round3(agg.counter('messages_sent') / seconds),
      delivered_per_s: round3(delivered / seconds),
      dropped,
      ok: failed.length === 0,
      failed,
    });
    busy.push(dropped > 0 || recs.some((r) => (r.busiest_thread_cpu_percent ?? 0) >= 90));
  }
  // The break is the first run of failing windows that lasts `sustain`; shorter runs are blips
  // (a GC pause, a checkpoint, a noisy neighbour) and are reported, not taken as the capacity.
  const sustainMs = parseDurationMs(spec.sustain ?? '4s', 'breakpoint.sustain');
  const need = Math.max(1, Math.ceil((sustainMs - windowMs) / intervalMs) + 1);
  let firstFail = -1;
  const blips: { t_s: number; failed: string[] }[] = [];
  for (let i = 0; i < windows.length; ) {
    if (windows[i]!.ok) {
      i++;
      continue;
    }
    let j = i;
    while (j < windows.length && !windows[j]!.ok) j++;
    // A run that reaches the end of the ramp counts as the break (the run stopped there).
    if (j - i >= need || j === windows.length) {
      firstFail = i;
      break;
    }
    blips.push({ t_s: windows[i]!.t_s, failed: windows[i]!.failed });
    i = j;
  }
  const held = windows.slice(0, firstFail < 0 ? windows.length : firstFail);
  let capacityIdx = -1;
  for (let i = 0; i < held.length; i++) {
    if (held[i]!.ok && (capacityIdx < 0 || held[i]!.delivered_per_s >= held[capacityIdx]!.delivered_per_s)) capacityIdx = i;
  }
  return {
    window_s: (span * intervalMs) / 1000,
    criteria: thresholds.map((t) => `${t.metric}: ${t.source}`),
    sustain_s: sustainMs / 1000,
    capacity_msgs_per_s: capacityIdx < 0 ? null : held[capacityIdx]!.delivered_per_s,
    capacity_at_s: capacityIdx < 0 ? null : held[capacityIdx]!.t_s,
    not_reached: firstFail < 0,
    first_failure: firstFail < 0 ? null : { t_s: windows[firstFail]!.t_s, failed: windows[firstFail]!.failed },
    blips,
    generator_limited: capacityIdx >= 0 && busy.slice(Math.max(0, capacityIdx - 1), capacityIdx + 2).some(Boolean),
    windows,
  };
}
