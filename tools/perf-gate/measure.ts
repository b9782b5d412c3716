// One repetition of the gate's load on a fresh system (chat service + one
// gateway, embedded store, started by the load generator), reduced to the
// figures the gate compares, per phase of the scenario, each over the same
// steady intervals (the first `skipS` seconds of a phase are dropped: JIT
// warm-up, chats opening, the previous phase's backlog):
//   CPU per delivered message  both server processes, from /proc schedstat
//                              sampled as each interval completes
//   delivery latency p50/p95/p99  from the intervals' HDR histograms
// A fresh system per repetition makes repetitions independent samples of
// everything a process start varies (JIT decisions, memory layout), which the
// gate's statistics assume.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../../loadgen/engine/run';
import type { SystemBuild } from '../../loadgen/engine/local-target';
import { LatencyHistogram } from '../../loadgen/metrics/latency';
import { summaryJsonOutput } from '../../loadgen/outputs/summary-json';
import type { Output } from '../../loadgen/engine/output';
import type { Scenario } from '../../loadgen/model/scenario';
import type { IntervalRecord } from '../../loadgen/engine/timeline';
import { processCpuNs } from '../../lib/proc-cpu';

export interface PhaseFigures {
  /** Messages delivered in the judged intervals. */
  messages: number;
  /** Seconds judged (whole intervals after the phase's first `skipS`). */
  judged_s: number;
  msgs_per_s: number;
  /** CPU of the server processes (chat service + gateway) per delivered message, µs. */
  cpu_us_per_msg: number;
  cpu_us_per_msg_by_process: Record<string, number>;
  latency_ms: { p50: number; p95: number; p99: number };
}

export interface RepFigures {
  /** One entry per executor of the scenario (perf-gate: throughput, latency). */
  phases: Record<string, PhaseFigures>;
  /** Integrity over the whole run: a gate run on a broken build must not pass on speed. */
  lost: number;
  duplicated: number;
  out_of_order: number;
  loadavg_1m: number;
  exit_code: number;
}

export interface RepOptions {
  scenario: Scenario;
  scenarioFile: string;
  durationMs?: number;
  /** Seconds dropped at the start of each phase (warm-up, the previous phase's backlog). */
  skipS: number;
  outDir: string;
  runId: string;
  log: (line: string) => void;
  /** The build of the system under load and environment for it only (the timed A/B gate's sides); default: this checkout. */
  build?: SystemBuild;
}

const INTERVAL_MS = 1000;

/** Samples the server processes' CPU each time an interval completes, so CPU and message counts cover the same seconds. */
type CpuSample = { ns: Record<string, number> };

function cpuSampler(pids: () => Record<string, number>): Output & { samples: Map<number, CpuSample> } {
  const samples = new Map<number, CpuSample>();
  return {
    name: 'gate-cpu-sampler',
    samples,
    interval(live) {
      const ns: Record<string, number> = {};
      for (const [name, pid] of Object.entries(pids())) ns[name] = processCpuNs(pid) ?? NaN;
      samples.set(live.last.index, { ns });
    },
  };
}

export async function runRep(o: RepOptions): Promise<RepFigures> {
  let pids: Record<string, number> = {};
  const sampler = cpuSampler(() => pids);
  const load = loadavg()[0]!;
  const summary = await runScenario({
    scenario: o.scenario, scenarioFile: o.scenarioFile, driver: 'system',
    durationMs: o.durationMs, shard: { index: 0, count: 1 }, workers: 1, outDir: o.outDir, runId: o.runId,
    transport: 'lean', localAddresses: [], intervalMs: INTERVAL_MS,
    command: 'perf-gate repetition', outputs: [sampler, summaryJsonOutput], log: o.log, systemBuild: o.build,
    onSystem: (sys) => {
      const byName = Object.fromEntries(sys?.pids() ?? []);
      if (sys) pids = { chat: byName.chat!, gateway: byName['gateway-0']! };
    },
  });
  const phases: Record<string, PhaseFigures> = {};
  for (const e of summary.plan.executors) {
    // Whole intervals inside [start + skip, end) of this executor.
    const first = Math.ceil((e.startMs + o.skipS * 1000) / INTERVAL_MS);
    const last = Math.floor((e.startMs + e.durationMs) / INTERVAL_MS) - 1;
    if (first < 1 || last < first) throw new Error(`perf gate: phase ${e.name} (${e.durationMs / 1000}s) leaves nothing after skipping ${o.skipS}s`);
    phases[e.name] = phaseFigures(summary.timeline, sampler.samples, first, last);
  }
  const count = (m: string) => summary.metrics[m]?.values.count ?? 0;
  return {
    phases, lost: count('delivery_lost'), duplicated: count('delivery_duplicated'), out_of_order: count('delivery_out_of_order'),
    loadavg_1m: round3(load), exit_code: summary.exit_code,
  };
}

function phaseFigures(timeline: IntervalRecord[], cpu: Map<number, CpuSample>, first: number, last: number): PhaseFigures {
  const before = cpu.get(first - 1)?.ns;
  const after = cpu.get(last)?.ns;
  if (!before || !after) throw new Error(`perf gate: missing CPU samples for intervals ${first}..${last}`);
  const hist = new LatencyHistogram();
  let messages = 0;
  for (const rec of timeline) {
    if (rec.index < first || rec.index > last) continue;
    messages += rec.counters.messages_delivered ?? 0;
    const enc = rec.histograms.delivery_latency;
    if (enc) hist.add(LatencyHistogram.decode(enc));
  }
  if (messages === 0) throw new Error(`perf gate: no message delivered in intervals ${first}..${last} `);
  const byProcess: Record<string, number> = {};
  let cpuNs = 0;
  for (const name of Object.keys(after)) {
    const ns = after[name]! - before[name]!;
    if (!(ns >= 0)) throw new Error(`perf gate: the ${name} process vanished during the run `);
    cpuNs += ns;
    byProcess[name] = round3(ns / 1000 / messages);
  }
  const judged = last - first + 1;
  return {
    messages, judged_s: judged, msgs_per_s: Math.round(messages / judged),
    cpu_us_per_msg: round3(cpuNs / 1000 / messages), cpu_us_per_msg_by_process: byProcess,
    latency_ms: { p50: round3(hist.percentileMs(50)), p95: round3(hist.percentileMs(95)), p99: round3(hist.percentileMs(99)) },
  };
}

export function repDir(outDir: string, i: number): string {
  return join(outDir, 'reps', String(i + 1).padStart(2, '0'));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
