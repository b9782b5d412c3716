// The `breakpoint` scenario's report (loadgen/engine/breakpoint.ts,
// summary.json `reports.breakpoint`): the delivered rate of the last window
// that held the scenario's breakpoint thresholds before the first that broke.
// That is the node's capacity figure for gateways, chat nodes and the store.
//
// This is the one place that maps it. If the report's shape changes, change
// `BreakpointReportLike` and `breakpointFigures`; the rest of the capacity
// model only sees MeasuredFigure.
import type { Measurements } from '../measured';

/** The fields of a BreakpointReport the capacity model reads (checked at run time). */
export interface BreakpointReportLike {
  window_s: number;
  criteria: string[];
  capacity_msgs_per_s: number | null;
  not_reached: boolean;
  first_failure: { t_s: number; failed: string[] } | null;
  generator_limited: boolean;
}

export function asBreakpointReport(value: unknown, where: string): BreakpointReportLike {
  const r = value as Record<string, unknown> | undefined;
  if (typeof r !== 'object' || r === null) throw new Error(`${where}: no breakpoint report`);
  if (!(r.capacity_msgs_per_s === null || typeof r.capacity_msgs_per_s === 'number')) throw new Error(`${where}: breakpoint report without capacity_msgs_per_s`);
  if (typeof r.not_reached !== 'boolean') throw new Error(`${where}: breakpoint report without not_reached`);
  return {
    window_s: typeof r.window_s === 'number' ? r.window_s : NaN,
    criteria: Array.isArray(r.criteria) ? (r.criteria as string[]) : [],
    capacity_msgs_per_s: r.capacity_msgs_per_s as number | null,
    not_reached: r.not_reached,
    first_failure: (r.first_failure as BreakpointReportLike['first_failure']) ?? null,
    generator_limited: r.generator_limited === true,
  };
}

/** Writes the throughput figures of `report` into `out` (or a note when none held). */
export function breakpointFigures(report: BreakpointReportLike, source: string, storeEngine: string, out: Measurements): void {
  const criteria = report.criteria.join('; ') || 'the scenario\'s breakpoint thresholds';
  if (report.capacity_msgs_per_s === null) {
    out.notes.push(`${source}: no ${report.window_s}s window held ${criteria}: throughput not measured by this run`);
    return;
  }
  const broke = report.first_failure ? `; first broke at ${report.first_failure.t_s}s (${report.first_failure.failed.join(', ')})` : '';
  const caveats = [
    report.not_reached ? 'never broke: the node carries at least this, ramp further' : '',
    report.generator_limited ? 'the load generator was saturated near the capacity window: the figure may be the generator\'s' : '',
  ].filter(Boolean).join('; ');
  const figure = {
    value: report.capacity_msgs_per_s,
    basis: report.not_reached ? ('sustained' as const) : ('breakpoint' as const),
    source,
    note: `breakpoint: delivered msgs/s of the last ${report.window_s}s window that held ${criteria}${broke}${caveats ? `; ${caveats}` : ''}`,
  };
  out.figures.gateway_msgs_per_s_at_p99 = figure;
  out.figures.chat_msgs_per_s_at_p99 = { ...figure };
  out.figures.store_writes_per_s = { ...figure, engine: storeEngine, note: `${storeEngine} store at the breakpoint; ${figure.note}` };
}
