// What the ramp benchmarks (full-vs-bare, store-full-path, peers) share: the
// ramp itself (same users, payload, warm-up and rate steps for every target),
// the CPU the target's processes spent during it, the last rate that held, and
// the per-stage report lines.
import { loadavg } from 'node:os';
import { processCpuSeconds } from '../lib/proc-cpu';
import type { Driver } from '../loadgen/drivers/driver';
import { runPairLoad, type PairLoadResult } from '../loadgen/engine/pair-load';

export const P99_MAX_MS = 100;

/** The ramp of bench/full-vs-bare.ts, which bench/peers.ts runs too: 200 users in pairs, 4 s steps, these rates. */
export const RAMP_DEFAULTS = Object.freeze({
  users: 200,
  step_s: 4,
  rates: [2000, 4000, 8000, 12000, 16000, 24000, 32000, 48000, 64000, 96000, 128000, 160000] as readonly number[],
  /** Unmeasured first stage at the first rate: JIT, caches, first chats created. */
  warmup_s: 2,
  /** Stragglers of the last stage. */
  grace_ms: 2000,
});

/**
 * One target's ramp: steps of `stepS` at each rate until p99 >= P99_MAX_MS or a message is lost,
 * CPU of `pids` from /proc and of this process (the generator) from process.cpuUsage.
 */
export async function measureRamp(
  target: string, driver: Driver, pids: Record<string, number>, users: number, rates: readonly number[], stepS: number,
): Promise<RampRun> {
  const loadavgBefore = loadavg();
  // From the first measured stage, like the generator's own count: connecting and the warm-up are setup.
  let cpuSince = cpuMeter(pids);
  const result = await runPairLoad(driver, {
    onMeasureStart: () => (cpuSince = cpuMeter(pids)),
    users,
    stages: rates.map((rate) => ({ rate, durationS: stepS })),
    stopWhenP99AboveMs: P99_MAX_MS,
    warmup: { rate: rates[0]!, durationS: RAMP_DEFAULTS.warmup_s },
    graceMs: RAMP_DEFAULTS.grace_ms,
    progress: (line) => process.stdout.write(`\r  ${target}: ${line}      `),
  });
  process.stdout.write('\n');
  const cpuSeconds = { ...cpuSince(), loadgen: result.loadgenCpuUs / 1e6 };
  return { target, result, sustainedRate: sustainedRate(result), cpuSeconds, loadavgBefore, loadavgAfter: loadavg() };
}

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
      `  rate ${String(s.rate).padStart(6)}/s  delivered ${String(s.delivered).padStart(7)}  lost ${s.lost}  dup ${s.duplicated}  ooo ${s.outOfOrder}  ` +
        `p50 ${s.latency.p50_ms.toFixed(2)}ms  p99 ${s.latency.p99_ms.toFixed(2)}ms  max ${s.latency.max_ms.toFixed(1)}ms`,
    );
  }
  const delivered = run.result.stages.reduce((a, s) => a + s.delivered, 0);
  const perMsg = Object.entries(run.cpuSeconds).map(([k, s]) => `${k} ${((s * 1e6) / Math.max(1, delivered)).toFixed(1)}us`);
  lines.push(`  CPU per delivered message over the whole ramp: ${perMsg.join(', ')}`);
  const acks = run.result.sendAcks;
  if (acks) {
    const failed = Object.entries(acks.failed).map(([r, n]) => `${n} ${r}`).join(', ') || 'none';
    lines.push(`  sends: acked ${acks.acked}, failed ${failed}, pending at the end ${acks.pending}; errors ${run.result.errors}`);
  }
  return lines;
}
