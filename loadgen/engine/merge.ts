// `loadgen merge <run dirs...>`: several shards of one run (same scenario,
// --shard i/N, started together with --start-at) become one summary. Trends
// are added as HDR histograms (exact: the merged p99 is the p99 of all
// samples), counters and rates are summed, the timeline is summed interval by
// interval, then thresholds and reports are judged again on the whole.
import { describeValue, isPlainObject } from '../../lib/shape';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsAggregate } from '../metrics/aggregate';
import { LatencyHistogram } from '../metrics/latency';
import { parseThresholds } from '../model/thresholds';
import { mergeTimelines } from './timeline';
import type { SystemInterval } from './system-sampler';
import { exitCodeOf, finishSummary, SUMMARY_JSON, SUMMARY_VERSION, type RunSummary } from './summary';

export function readSummary(dir: string): RunSummary {
  const file = dir.endsWith('.json') ? dir : join(dir, SUMMARY_JSON);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  // Only the envelope is shape-checked here; a file of the right version is trusted to be what loadgen wrote.
  if (!isPlainObject(parsed)) throw new Error(`${file}: expected a summary object, got ${describeValue(parsed)}`);
  const s = parsed as unknown as RunSummary;
  if (s.version !== SUMMARY_VERSION) throw new Error(`${file}: summary version ${s.version}, this loadgen reads ${SUMMARY_VERSION}`);
  return s;
}

/**
 * With `system`: the system this process started for the shards (--procs), its usage over the measured window and its
 * per-interval figures, which go into the merged timeline before the reports are made.
 */
export function mergeSummaries(parts: RunSummary[], runId: string, command: string,
  system?: { usage: RunSummary['system']; intervals: Map<number, SystemInterval> }): RunSummary {
  if (parts.length === 0) throw new Error('merge needs at least one run directory');
  const first = parts[0]!;
  for (const p of parts) {
    if (p.scenario.name !== first.scenario.name) throw new Error(`cannot merge ${p.scenario.name} with ${first.scenario.name}: different scenarios`);
    if (p.interval_ms !== first.interval_ms) throw new Error('cannot merge runs with different intervals');
  }
  const shards = parts.flatMap((p) => p.shards);
  const seen = new Set<string>();
  for (const sh of shards) {
    const key = `${sh.index}/${sh.count}`;
    if (seen.has(key)) throw new Error(`shard ${sh.index + 1}/${sh.count} appears twice: merging it would count its samples twice`);
    seen.add(key);
  }
  const agg = new MetricsAggregate();
  parts.forEach((p, i) => agg.addSummary(p.metrics, `part${i}`));
  const measuredMs = Math.max(...parts.map((p) => p.phases.measured_ms));
  agg.durationMs = measuredMs;
  const setupConnect = new LatencyHistogram();
  for (const p of parts) if (p.setup.connect_time?.histogram) setupConnect.add(LatencyHistogram.decode(p.setup.connect_time.histogram));
  const setupAgg = new MetricsAggregate();
  if (setupConnect.count) setupAgg.trends.set('connect_time', setupConnect);
  const plan = { ...first.plan, thresholds: parseThresholds(first.thresholds_spec, first.plan.executors.map((e) => e.name)) };
  const timeline = mergeTimelines(parts.map((p) => p.timeline), first.interval_ms);
  if (system) for (const r of timeline) Object.assign(r, system.intervals.get(r.index) ?? {});
  const reconnects = parts.map((p) => p.reports.reconnect).filter((r) => r !== undefined);
  // Shards share the start time: the flood runs from the earliest first reconnect to the latest last drain.
  const firsts = reconnects.map((r) => r!.first_reconnect_ms).filter((x) => x >= 0);
  const lasts = reconnects.map((r) => r!.last_drain_done_ms).filter((x) => x >= 0);
  const summary = finishSummary({
    version: SUMMARY_VERSION,
    run_id: runId,
    scenario: first.scenario,
    plan,
    thresholds_spec: first.thresholds_spec,
    breakpoint_spec: first.breakpoint_spec,
    command,
    machine: first.machine,
    started_at: parts.map((p) => p.started_at).sort()[0]!,
    shards,
    workers: parts.reduce((a, p) => a + p.workers, 0),
    interval_ms: first.interval_ms,
    target: { ...first.target, urls: [...new Set(parts.flatMap((p) => p.target.urls))] },
    phases: {
      setup_ms: Math.max(...parts.map((p) => p.phases.setup_ms)),
      measured_ms: measuredMs,
      grace_ms: Math.max(...parts.map((p) => p.phases.grace_ms)),
      teardown_ms: Math.max(...parts.map((p) => p.phases.teardown_ms)),
    },
    setup: {
      connected: parts.reduce((a, p) => a + p.setup.connected, 0),
      failed: parts.reduce((a, p) => a + p.setup.failed, 0),
      groups_created: parts.reduce((a, p) => a + (p.setup.groups_created ?? 0), 0),
      ...mergeWarmups(parts.map((p) => p.setup.e2ee_warmup)),
      connect_time: setupAgg.toJSON().connect_time ?? null,
    },
    aborted: parts.find((p) => p.aborted)?.aborted ?? null,
    timeline,
    loadgen: {
      cpu_percent_avg: Math.round(parts.reduce((a, p) => a + p.loadgen.cpu_percent_avg, 0) * 10) / 10,
      busiest_thread_cpu_percent_max: Math.max(...parts.map((p) => p.loadgen.busiest_thread_cpu_percent_max)),
      rss_start_bytes: parts.reduce((a, p) => a + (p.loadgen.rss_start_bytes ?? 0), 0),
      warnings: parts.flatMap((p) => p.loadgen.warnings.filter((w) => !w.includes('dropped iterations') && !w.includes('schedule_lag'))
        .map((w) => `shard ${p.shards.map((s) => s.index + 1).join(',')}/${p.shards[0]!.count}: ${w}`).slice(0, 5)),
    },
    system: system?.usage ?? parts.find((p) => p.system)?.system ?? null,
  }, agg, { firstReconnectMs: firsts.length ? Math.min(...firsts) : -1, lastDrainDoneMs: lasts.length ? Math.max(...lasts) : -1 });
  const lost = parts.flatMap((p) => p.reports.lost_examples ?? []).slice(0, 10);
  if (lost.length) summary.reports.lost_examples = lost;
  // Faults run in one generator process (never sharded): a merge of that one run keeps its fault report.
  if (parts.length === 1 && parts[0]!.reports.faults) summary.reports.faults = parts[0]!.reports.faults;
  summary.exit_code = exitCodeOf(summary);
  return summary;
}

/** The shards' e2ee warm-ups summed (the slowest one's time); nothing when none had one. */
function mergeWarmups(ws: ({ sessions: number; sender_keys: number; ms: number } | undefined)[]): { e2ee_warmup?: { sessions: number; sender_keys: number; ms: number } } {
  const on = ws.filter((w) => w !== undefined);
  if (on.length === 0) return {};
  return { e2ee_warmup: { sessions: on.reduce((a, w) => a + w.sessions, 0), sender_keys: on.reduce((a, w) => a + w.sender_keys, 0), ms: Math.max(...on.map((w) => w.ms)) } };
}
