// The k6-like end-of-run summary: what ran, what it models, the metrics with
// a ✓/✗ in front of those that carry thresholds, the thresholds one by one,
// the scenario's headline report (breakpoint capacity, reconnect flood) and
// the generator's own warnings. Printed to stdout and kept as summary.txt.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from '../engine/output';
import type { RunSummary } from '../engine/summary';
import { metricInfo, splitMetricName } from '../model/metric-catalog';
import { formatDurationMs } from '../model/duration';
import type { ResolvedExecutor } from '../model/plan';
import type { FaultReport } from '../engine/fault-report';
import { mediaLines } from './media-text';
import { connectionLines } from './connection-text';
import { e2eeLines } from './e2ee-text';

export const SUMMARY_TXT = 'summary.txt';
const NAME_WIDTH = 34;

export function fmtMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1) return `${(ms * 1000).toFixed(0)}µs`;
  if (ms < 1000) return `${+ms.toFixed(ms < 10 ? 2 : 1)}ms`;
  return `${+(ms / 1000).toFixed(2)}s`;
}

export function fmtCount(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

function fmtNumber(x: number): string {
  if (x >= 1e9) return `${+(x / 1e9).toFixed(2)}B`;
  if (x >= 1e6) return `${+(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${+(x / 1e3).toFixed(1)}k`;
  return `${+x.toFixed(2)}`;
}

export function describeExecutor(e: ResolvedExecutor): string {
  const per = e.timeUnitMs === 1000 ? 's' : formatDurationMs(e.timeUnitMs);
  const common = `gracefulStop: ${formatDurationMs(e.gracefulStopMs)}, exec: ${e.exec}${e.startMs ? `, startTime: ${formatDurationMs(e.startMs)}` : ''}`;
  switch (e.executor) {
    case 'constant-arrival-rate':
      return `${e.rate.toFixed(2)} iterations/${per} for ${formatDurationMs(e.durationMs)} (maxVUs: ${e.preAllocatedVUs}-${e.maxVUs}, ${common})`;
    case 'ramping-arrival-rate':
      return `Up to ${Math.max(e.startRate, ...e.stages.map((s) => s.target)).toFixed(2)} iterations/${per} over ${e.stages.length} stages, ` +
        `${formatDurationMs(e.durationMs)} (maxVUs: ${e.preAllocatedVUs}-${e.maxVUs}, ${common})`;
    case 'constant-vus':
      return `${e.vus} looping VUs for ${formatDurationMs(e.durationMs)} (${common})`;
    case 'ramping-vus':
      return `Up to ${e.vus} looping VUs for ${formatDurationMs(e.durationMs)} over ${e.stages.length} stages (${common})`;
    case 'per-vu-iterations':
      return `${e.iterations} iterations for each of ${e.vus} VUs (maxDuration: ${formatDurationMs(e.durationMs)}, ${common})`;
  }
}

function metricLine(name: string, m: RunSummary['metrics'][string]): string {
  const v = m.values;
  switch (m.type) {
    case 'trend':
      return `avg=${fmtMs(v.avg!)} min=${fmtMs(v.min!)} med=${fmtMs(v.med!)} max=${fmtMs(v.max!)} p(90)=${fmtMs(v['p(90)']!)} ` +
        `p(95)=${fmtMs(v['p(95)']!)} p(99)=${fmtMs(v['p(99)']!)} p(99.9)=${fmtMs(v['p(99.9)']!)} count=${v.count}`;
    case 'counter': {
      const unit = metricInfo(splitMetricName(name).base)?.unit === 'bytes' ? ' B' : '';
      return `${fmtCount(v.count!)}${unit}  ${fmtNumber(v.rate!)}${unit}/s`;
    }
    case 'rate':
      return `${(v.rate! * 100).toFixed(2)}%  ✓ ${v.passes}  ✗ ${v.fails}`;
    case 'gauge':
      return `${fmtCount(v.value!)}  min=${fmtCount(v.min!)} max=${fmtCount(v.max!)}`;
  }
}

export function renderSummaryText(s: RunSummary): string {
  const out: string[] = [];
  const sc = s.scenario;
  const p = sc.production;
  out.push('');
  out.push(`  scenario: ${sc.name} (${sc.file})`);
  out.push(`            ${sc.description}`);
  out.push(`  models:   ${fmtNumber(p.messagesPerSecond)} msg/s over ${fmtNumber(p.users)} users, x ${sc.scale.factor.toExponential(3)} ` +
    `(--scale ${sc.scale.multiplier}) -> ${s.plan.traffic.users} users here`);
  out.push(`            ${sc.scale.basis}`);
  out.push(`  target:   ${s.target.driver} ${s.target.urls.join(', ')}${s.target.started_by_loadgen ? ' (started by loadgen)' : ''}, ` +
    `${s.target.transport} client, ${s.workers} worker thread(s) x ${s.shards.length === 1 ? `shard ${s.shards[0]!.index + 1}/${s.shards[0]!.count}` : `${s.shards.length} shards merged`}`);
  if (s.target.store) out.push(`  store:    ${s.target.store}`);
  const ct = s.setup.connect_time?.values;
  out.push(`  phases:   setup ${fmtMs(s.phases.setup_ms)} (${s.setup.connected} connections${s.setup.failed ? `, ${s.setup.failed} FAILED` : ''}` +
    `${s.setup.groups_created ? `, ${s.setup.groups_created} groups` : ''}` +
    `${s.setup.e2ee_warmup ? `, e2ee warm-up ${s.setup.e2ee_warmup.sessions} sessions + ${s.setup.e2ee_warmup.sender_keys} sender keys in ${fmtMs(s.setup.e2ee_warmup.ms)}` : ''}` +
    `${ct ? `, connect p(99)=${fmtMs(ct['p(99)']!)}` : ''}) | measured ${fmtMs(s.phases.measured_ms)} | delivery grace ${fmtMs(s.phases.grace_ms)} | ` +
    `teardown ${fmtMs(s.phases.teardown_ms)}`);
  out.push('');
  const ex = s.plan.executors;
  const maxVus = ex.reduce((a, e) => a + Math.max(e.maxVUs, e.vus), 0);
  const maxDur = Math.max(...ex.map((e) => e.startMs + e.durationMs + e.gracefulStopMs));
  out.push(`  scenarios: (100.00%) ${ex.length} scenario${ex.length > 1 ? 's' : ''}, ${maxVus} max VUs, ${formatDurationMs(maxDur)} max duration (incl. graceful stop):`);
  for (const e of ex) out.push(`           * ${e.name}: ${describeExecutor(e)}`);
  out.push('');

  const withThresholds = new Map<string, boolean>();
  for (const r of s.thresholds.results) withThresholds.set(r.metric, (withThresholds.get(r.metric) ?? true) && r.ok);
  const names = Object.keys(s.metrics).sort();
  for (const name of names) {
    const mark = withThresholds.has(name) ? (withThresholds.get(name) ? '✓' : '✗') : ' ';
    const label = `${name}`.padEnd(NAME_WIDTH, '.');
    out.push(`   ${mark} ${label}: ${metricLine(name, s.metrics[name]!)}`);
  }
  for (const [name, ok] of withThresholds) {
    if (!s.metrics[name]) out.push(`   ${ok ? '✓' : '✗'} ${name.padEnd(NAME_WIDTH, '.')}: (no samples)`);
  }
  out.push('');
  if (s.thresholds.results.length > 0) {
    const failed = s.thresholds.results.filter((r) => !r.ok).length;
    out.push(`  THRESHOLDS: ${s.thresholds.results.length - failed} passed, ${failed} failed`);
    for (const r of s.thresholds.results) {
      out.push(`    ${r.ok ? '✓' : '✗'} ${r.metric} '${r.source}' (was ${+r.actual.toFixed(3)})`);
    }
    out.push('');
  }
  if (s.aborted) out.push(`  ABORTED at ${s.aborted.at_s.toFixed(1)}s: ${s.aborted.reason}`, '');
  const bp = s.reports.breakpoint;
  if (bp) {
    out.push(`  BREAKPOINT (${bp.window_s}s windows; criteria: ${bp.criteria.join(', ')})`);
    if (bp.capacity_msgs_per_s === null) out.push('    no window held: capacity below the first step of the ramp');
    else {
      out.push(`    ${bp.not_reached ? 'not reached: capacity >= ' : 'sustained rate: '}${fmtNumber(bp.capacity_msgs_per_s)} msgs/s delivered ` +
        `(window ending at ${bp.capacity_at_s}s)${bp.generator_limited ? '  [generator-limited: dropped iterations or a saturated loadgen thread]' : ''}`);
    }
    if (bp.first_failure) out.push(`    broke at ${bp.first_failure.t_s}s (failing for >= ${bp.sustain_s}s): ${bp.first_failure.failed.join('; ')}`);
    if (bp.blips?.length) out.push(`    blips before that (shorter than ${bp.sustain_s}s): ${bp.blips.map((b) => `${b.t_s}s`).join(', ')}`);
    out.push('');
  }
  const rc = s.reports.reconnect;
  if (rc) {
    out.push('  RECONNECT FLOOD');
    out.push(`    users dropped ${rc.users_dropped}, reconnected and drained ${rc.users_reconnected}, messages drained ${rc.messages_drained}`);
    out.push(`    time to drain every offline queue: ${rc.time_to_drain_all_ms === null ? 'n/a' : fmtMs(rc.time_to_drain_all_ms)}` +
      `; per-user drain p(99) ${rc.drain_time_p99_ms === null ? 'n/a' : fmtMs(rc.drain_time_p99_ms)}`);
    out.push(`    offline delivery latency: p(50) ${rc.offline_delivery_p50_ms === null ? 'n/a' : fmtMs(rc.offline_delivery_p50_ms)}, ` +
      `p(99) ${rc.offline_delivery_p99_ms === null ? 'n/a' : fmtMs(rc.offline_delivery_p99_ms)}, max ${rc.offline_delivery_max_ms === null ? 'n/a' : fmtMs(rc.offline_delivery_max_ms)}` +
      ` (seed's target: < ${rc.seed_offline_delivery_ms}ms)`);
    out.push('');
  }
  const sends = s.reports.sends;
  if (sends) {
    const reasons = Object.entries(sends.failed_by_reason).map(([r, n]) => `${r} ${n}`).join(', ');
    out.push('  SENDS (every scheduled send, one outcome each)');
    out.push(`    ${sends.adds_up ? '✓' : '✗'} scheduled ${sends.scheduled} = ok ${sends.ok} + failed ${sends.failed}${reasons ? ` (${reasons})` : ''} + ` +
      `dropped ${sends.dropped} + queued at the end ${sends.queued_at_end}${sends.adds_up ? '' : '  DOES NOT ADD UP'}`);
    out.push(`    retried ${sends.retried} (same client_msg_id), waited in an outbox ${sends.outboxed}, reconnects ${sends.reconnects}`);
    out.push('');
  }
  if (s.reports.media) out.push(...mediaLines(s.reports.media));
  if (s.reports.e2ee) out.push(...e2eeLines(s.reports.e2ee));
  if (s.reports.connections) out.push(...connectionLines(s.reports.connections));
  if (s.reports.faults) out.push(...faultLines(s.reports.faults), '');
  if (s.reports.lost_examples?.length) {
    out.push('  LOST (examples; LG_DEBUG_LOST=1 adds send times)');
    for (const l of s.reports.lost_examples) out.push(`    ${l}`);
    out.push('');
  }
  const load = s.machine.loadavg_1m_start !== undefined ? `; machine load average ${s.machine.loadavg_1m_start.toFixed(1)} -> ${(s.machine.loadavg_1m_end ?? 0).toFixed(1)} on ${s.machine.cpus} cores` : '';
  out.push(`  loadgen: cpu ${s.loadgen.cpu_percent_avg.toFixed(0)}% of one core (process, measured window avg), busiest thread ${s.loadgen.busiest_thread_cpu_percent_max.toFixed(0)}%${load}`);
  if (s.system) {
    out.push(`  system:   ${Object.entries(s.system).map(([k, u]) => `${k} ${u.cpu_percent.toFixed(0)}% cpu${u.rss_bytes ? ` ${(u.rss_bytes / 2 ** 20).toFixed(0)}MiB rss` : ''}`).join(', ')}`);
  }
  for (const w of s.loadgen.warnings) out.push(`  WARN ${w}`);
  out.push('');
  return out.join('\n');
}

function readinessText(f: FaultReport['faults'][number]): string {
  const r = f.readiness;
  if (!r) return 'ready: n/a';
  if (r.lost_at_s === null) return 'the system never reported itself not ready';
  return `not ready from ${r.lost_at_s}s, ready again ${r.time_to_ready_ms === null ? 'NOT within the run' : `after ${fmtMs(r.time_to_ready_ms)}`}`;
}

function faultLines(r: FaultReport): string[] {
  const out = [`  FAULTS (served again: ${r.served_again_method}; ready: ${r.readiness_method})`];
  for (const f of r.faults) {
    const w = f.window ? `${f.window.start_s}s-${f.window.end_s}s` : 'did not run';
    out.push(`    #${f.id} ${f.label}: window ${w}, served again ${f.time_to_served_ms === null ? 'NOT within the run' : `after ${fmtMs(f.time_to_served_ms)}`}` +
      `${f.probe ? ` (${f.probe.chats_served}/${f.probe.chats} probe chats, ${f.probe.attempts_failed} probe attempts failed)` : ''}; ${readinessText(f)}`);
    out.push(`       ${f.span.from_s}s-${f.span.to_s}s${f.shared_with.length ? ` (shared with #${f.shared_with.join(', #')})` : ''}: ` +
      `sends failed ${f.sends_failed}${f.sends_failed ? ` (${Object.entries(f.sends_failed_by).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}, ` +
      `retried ${f.sends_retried}, duplicates ${f.duplicates}, reorderings ${f.reorderings}`);
    for (const e of f.errors) out.push(`       ERROR ${e}`);
  }
  out.push(`    acknowledged messages lost: ${r.lost_run_total} (whole run: known only at its end); before the first fault: ` +
    `${r.before_faults.sends_failed} failed sends, ${r.before_faults.duplicates} duplicates, ${r.before_faults.reorderings} reorderings`);
  return out;
}

export const summaryTextOutput: Output = {
  name: 'summary-text',
  end: (summary, outDir) => {
    const text = renderSummaryText(summary);
    process.stdout.write(text + '\n');
    writeFileSync(join(outDir, SUMMARY_TXT), text + '\n');
  },
};
