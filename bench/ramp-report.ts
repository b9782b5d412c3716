// What the ramp benchmarks (full-vs-bare, store-full-path) share: the CPU the
// target's processes spent during a ramp, the last rate that held, and the
// per-stage report lines.
import { processCpuSeconds } from '../lib/proc-cpu';
import type { PairLoadResult } from '../loadgen/engine/pair-load';

export const P99_MAX_MS = 100;

export interface RampRun {
  target: string;
  result: PairLoadResult;
  sustainedRate: number;
  cpuSeconds: Record<string, number>;
  /** Load average around the measured ramp, when recorded. */
  loadavgBefore?: number[];
  loadavgAfter?: number[];
}

/** Start a CPU measurement of these processes; the returned function gives seconds spent since, per name. */
export function cpuMeter(pids: Record<string, number>): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuSeconds(pid) ?? 0]));
  return () => Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, (processCpuSeconds(pid) ?? 0) - before[k]!]));
}

/** The highest stage rate with p99 under the bound and nothing lost or duplicated. */
export function sustainedRate(result: PairLoadResult): number {
  let rate = 0;
  for (const s of result.stages) {
    if (s.latency.p99_ms < P99_MAX_MS && s.lost === 0 && s.duplicated === 0) rate = s.rate;
  }
  return rate;
}

export function rampReport(run: RampRun): string[] {
  const load = run.loadavgBefore && run.loadavgAfter
    ? ` (load average ${run.loadavgBefore[0]!.toFixed(2)} -> ${run.loadavgAfter[0]!.toFixed(2)})`
    : '';
  const lines = [`${run.target}: sustained ${run.sustainedRate} msg/s at p99 < ${P99_MAX_MS} ms${load}`];
  for (const s of run.result.stages) {
    lines.push(
      `  rate ${String(s.rate).padStart(6)}/s  delivered ${String(s.delivered).padStart(7)}  lost ${s.lost}  dup ${s.duplicated}  ` +
        `p50 ${s.latency.p50_ms.toFixed(2)}ms  p99 ${s.latency.p99_ms.toFixed(2)}ms  max ${s.latency.max_ms.toFixed(1)}ms`,
    );
  }
  const delivered = run.result.stages.reduce((a, s) => a + s.delivered, 0);
  const perMsg = Object.entries(run.cpuSeconds).map(([k, s]) => `${k} ${((s * 1e6) / Math.max(1, delivered)).toFixed(1)}us`);
  lines.push(`  CPU per delivered message over the whole ramp: ${perMsg.join(', ')}`);
  return lines;
}
