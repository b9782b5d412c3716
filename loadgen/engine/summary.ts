// The run summary: what summary.json holds and every output renders. It is
// built the same way for a run and for a merge of shards (from the metrics
// aggregate, the timeline and the run's facts), so a merged summary is a
// summary like any other.
import { cpus, hostname, loadavg } from 'node:os';
import type { MetricsAggregate, MetricValues } from '../metrics/aggregate';
import { evaluateAll, EXIT_THRESHOLDS_FAILED, type ThresholdResult } from '../model/thresholds';
import { analyseBreakpoint, type BreakpointReport } from './breakpoint';
import type { IntervalRecord } from './timeline';
import type { FaultReport } from './fault-report';
import { mediaReport, type MediaReport } from './media-report';
import { connectionGauges, connectionReport, type ConnectionReport } from './connection-report';
import { e2eeReport, type E2eeReport } from './e2ee-report';
import type { RunPlan } from '../model/plan';
import type { BreakpointSpec, ProductionFigures, ThresholdSpec } from '../model/scenario';

export const SUMMARY_VERSION = 1;
/** The summary's file in a run directory (what `loadgen merge` and the tools read). */
export const SUMMARY_JSON = 'summary.json';
/** k6's exit code for a run stopped by Ctrl-C. */
const EXIT_INTERRUPTED = 105;

export interface ReconnectReport {
  users_dropped: number;
  users_reconnected: number;
  messages_drained: number;
  /** ms from the start of the measured window to the first reconnect and to the last DrainDone (-1: none). */
  first_reconnect_ms: number;
  last_drain_done_ms: number;
  /** From the first reconnect to the last DrainDone: the time to drain every offline queue. */
  time_to_drain_all_ms: number | null;
  drain_time_p99_ms: number | null;
  offline_delivery_p50_ms: number | null;
  offline_delivery_p99_ms: number | null;
  offline_delivery_max_ms: number | null;
  /** The seed's target: offline delivery < 500 ms once the user is online. */
  seed_offline_delivery_ms: number;
}

/**
 * Every scheduled send's outcome (loadgen/world/send-outcomes.ts): the counts
 * must add up, scheduled = ok + failed + dropped + queued_at_end, or the run fails.
 */
export interface SendsReport {
  scheduled: number;
  ok: number;
  failed: number;
  /** Failures by reason: a server error code, timeout, outbox_full, no_sender, reconnect_failed. */
  failed_by_reason: Record<string, number>;
  dropped: number;
  queued_at_end: number;
  /** Sends written more than once (same client_msg_id), sends that waited in an outbox, users back after the target closed them. */
  retried: number;
  outboxed: number;
  reconnects: number;
  adds_up: boolean;
}

export interface ProcessUsage {
  cpu_s: number;
  /** Over the measured window, % of one core. */
  cpu_percent: number;
  /** Resident memory at the end of the measured window, before the load generator connected, and once it had. */
  rss_bytes: number | null;
  rss_idle_bytes?: number | null;
  rss_connected_bytes?: number | null;
}

export interface RunSummary {
  version: number;
  run_id: string;
  scenario: {
    name: string;
    file: string;
    description: string;
    production: ProductionFigures;
    /** Effective factor (scenario factor x --scale), its basis, and --scale. */
    scale: { factor: number; basis: string; multiplier: number };
  };
  plan: RunPlan;
  /** The thresholds as written (re-parsed when merging). */
  thresholds_spec: Record<string, ThresholdSpec[]>;
  breakpoint_spec: BreakpointSpec | null;
  command: string;
  machine: { hostname: string; cpus: number; cpu_model: string; node: string; loadavg_1m_start?: number; loadavg_1m_end?: number };
  started_at: string;
  shards: { index: number; count: number }[];
  workers: number;
  interval_ms: number;
  /** store: what the system loadgen started stores messages in (absent for --target, and in older summaries). */
  target: { driver: string; urls: string[]; started_by_loadgen: boolean; transport: string; store?: string };
  phases: { setup_ms: number; measured_ms: number; grace_ms: number; teardown_ms: number };
  /** groups_created: group chats the workers created for the group workload (absent in older summaries). */
  /** e2ee_warmup: traffic.e2ee's warm-up (sessions started, sender keys given, ms of the slowest worker); absent when off. */
  setup: { connected: number; failed: number; groups_created?: number; e2ee_warmup?: { sessions: number; sender_keys: number; ms: number }; connect_time: MetricValues | null };
  metrics: Record<string, MetricValues>;
  thresholds: { results: ThresholdResult[]; ok: boolean };
  aborted: { reason: string; at_s: number } | null;
  timeline: IntervalRecord[];
  /** rss_start_bytes: the generator's resident memory once set up, before the measured window (absent in older files). */
  loadgen: { cpu_percent_avg: number; busiest_thread_cpu_percent_max: number; warnings: string[]; rss_start_bytes?: number };
  system: Record<string, ProcessUsage> | null;
  reports: { breakpoint?: BreakpointReport; reconnect?: ReconnectReport; sends?: SendsReport; media?: MediaReport; e2ee?: E2eeReport; lost_examples?: string[];
    faults?: FaultReport; connections?: ConnectionReport };
  exit_code: number;
}

export function machineInfo(): RunSummary['machine'] {
  const c = cpus();
  return { hostname: hostname(), cpus: c.length, cpu_model: c[0]?.model ?? 'unknown', node: process.version, loadavg_1m_end: loadavg()[0] };
}

/** Thresholds, reports and warnings from the metrics and timeline (run or merge). */
export function finishSummary(s: Omit<RunSummary, 'thresholds' | 'reports' | 'exit_code' | 'metrics'>, agg: MetricsAggregate,
  extra: { firstReconnectMs: number; lastDrainDoneMs: number }): RunSummary {
  // Made first: its figures are gauges that thresholds may name.
  const connections = connectionReport({
    users: s.plan.traffic.users, executors: s.plan.executors, timeline: s.timeline, intervalMs: s.interval_ms,
    loadgenRssStartBytes: s.loadgen.rss_start_bytes || null, system: s.system, ...extra,
  }, agg);
  if (connections) for (const [name, v] of Object.entries(connectionGauges(connections))) agg.setGauge(name, v);
  const results = evaluateAll(s.plan.thresholds, agg);
  const ok = results.every((r) => r.ok);
  const reports: RunSummary['reports'] = {};
  if (s.breakpoint_spec) {
    reports.breakpoint = analyseBreakpoint(s.breakpoint_spec, s.timeline, s.interval_ms, s.phases.measured_ms, s.plan.executors);
  }
  if (s.plan.executors.some((e) => e.exec === 'reconnect' || e.exec === 'disconnect')) {
    const off = agg.trends.get('offline_delivery_latency');
    const drain = agg.trends.get('drain_time');
    reports.reconnect = {
      users_dropped: agg.counter('users_dropped'),
      users_reconnected: agg.counter('users_reconnected'),
      messages_drained: agg.counter('messages_drained'),
      first_reconnect_ms: Math.round(extra.firstReconnectMs),
      last_drain_done_ms: Math.round(extra.lastDrainDoneMs),
      time_to_drain_all_ms: extra.firstReconnectMs >= 0 && extra.lastDrainDoneMs >= 0 ? Math.round(extra.lastDrainDoneMs - extra.firstReconnectMs) : null,
      drain_time_p99_ms: drain && drain.count ? drain.percentileMs(99) : null,
      offline_delivery_p50_ms: off && off.count ? off.percentileMs(50) : null,
      offline_delivery_p99_ms: off && off.count ? off.percentileMs(99) : null,
      offline_delivery_max_ms: off && off.count ? off.h.maxValue / 1000 : null,
      seed_offline_delivery_ms: 500,
    };
  }
  const sends = sendsReport(agg);
  if (sends) reports.sends = sends;
  const warnings = [...s.loadgen.warnings];
  if (connections) reports.connections = connections;
  const unscheduled = connections ? connections.users - connections.attempted - connections.dropped : 0;
  if (connections && unscheduled > 0 && connections.failed === 0) {
    warnings.push(`${unscheduled} of ${connections.users} users were never scheduled a connect: the ramp's schedule ran out first. ` +
      '--scale multiplies the users and the ramp\'s rates together; --users alone changes only the users.');
  }
  if (connections && !connections.adds_up) {
    warnings.push(`the connect accounting does not add up: ${connections.attempted} attempted != ok ${connections.ok} + failed ` +
      `${connections.failed} with a reason each (${JSON.stringify(connections.failed_by_reason)}), or more held (${connections.held}) than ` +
      'connected. A load generator bug (the run fails).');
  }
  if (sends && !sends.adds_up) {
    warnings.push(`the send accounting does not add up: scheduled ${sends.scheduled} != ok ${sends.ok} + failed ${sends.failed} + dropped ` +
      `${sends.dropped} + queued at the end ${sends.queued_at_end}. Some sends were not counted: a load generator bug (the run fails).`);
  }
  const media = mediaReport(agg);
  if (media) reports.media = media;
  if (media && !media.adds_up) {
    warnings.push(`the media accounting does not add up: scheduled ${media.scheduled} != verified ${media.verified} + failed ${media.failed} + ` +
      `dropped ${media.dropped} + queued at the end ${media.queued_at_end}. A load generator bug (the run fails).`);
  }
  const e2ee = e2eeReport(agg, s.timeline, s.interval_ms);
  if (e2ee) reports.e2ee = e2ee;
  const dropped = agg.counter('dropped_iterations');
  if (dropped > 0) {
    warnings.push(`${dropped} dropped iterations: no free VU when they were due (maxVUs reached). The target answered slower than the ` +
      'schedule needs, or maxVUs is too low; the achieved rate is below the scheduled one.');
  }
  const lag = agg.trends.get('schedule_lag');
  if (lag && lag.count > 0 && lag.percentileMs(99) > 10) {
    const load = Math.max(s.machine.loadavg_1m_start ?? 0, s.machine.loadavg_1m_end ?? 0);
    const why = s.loadgen.busiest_thread_cpu_percent_max >= 70
      ? 'its busiest thread was near a full core: use more --workers, shards, or a lower rate'
      : load > s.machine.cpus
        ? `its threads were mostly idle but waited for a CPU: load average ${load.toFixed(1)} on ${s.machine.cpus} cores (other processes share this machine)`
        : 'its threads waited for a CPU (the target and the generator share this machine)';
    warnings.push(`the generator started iterations late (schedule_lag p(99)=${lag.percentileMs(99).toFixed(1)}ms): ${why}. ` +
      'Latencies count from the scheduled time, so they include this delay.');
  }
  if (s.loadgen.busiest_thread_cpu_percent_max >= 90) {
    warnings.push(`a load generator thread reached ${s.loadgen.busiest_thread_cpu_percent_max.toFixed(0)}% of a core: the generator, not ` +
      'only the target, may be the bottleneck.');
  }
  return {
    ...s, metrics: agg.toJSON(), thresholds: { results, ok },
    reports, loadgen: { ...s.loadgen, warnings }, exit_code: 0,
  };
}

/** The send accounting of a run (null when it scheduled no sends, or its summary predates the accounting). */
export function sendsReport(agg: MetricsAggregate): SendsReport | null {
  const scheduled = agg.counter('sends_scheduled');
  if (scheduled === 0) return null;
  const failedByReason: Record<string, number> = {};
  const prefix = 'sends_failed{reason:';
  for (const [name, n] of agg.counters) if (name.startsWith(prefix)) failedByReason[name.slice(prefix.length, -1)] = n;
  const r = {
    scheduled, ok: agg.counter('sends_ok'), failed: agg.counter('sends_failed'), failed_by_reason: failedByReason,
    dropped: agg.counter('sends_dropped'), queued_at_end: agg.counter('sends_queued_at_end'),
    retried: agg.counter('sends_retried'), outboxed: agg.counter('sends_outboxed'), reconnects: agg.counter('reconnects_automatic'),
  };
  const reasons = Object.values(failedByReason).reduce((a, n) => a + n, 0);
  return { ...r, adds_up: r.scheduled === r.ok + r.failed + r.dropped + r.queued_at_end && reasons === r.failed };
}

/**
 * The run's exit code (k6's): 99 when thresholds failed, abortOnFail stopped it or the send (or media) accounting
 * does not add up, 105 interrupted, else 0.
 */
export function exitCodeOf(s: RunSummary): number {
  const abortedByThreshold = s.aborted !== null && s.aborted.reason.startsWith('threshold');
  const accountingBroken = (s.reports?.sends !== undefined && !s.reports.sends.adds_up) || (s.reports?.media !== undefined && !s.reports.media.adds_up) ||
    (s.reports?.connections !== undefined && !s.reports.connections.adds_up);
  return !s.thresholds.ok || abortedByThreshold || accountingBroken ? EXIT_THRESHOLDS_FAILED : s.aborted ? EXIT_INTERRUPTED : 0;
}
