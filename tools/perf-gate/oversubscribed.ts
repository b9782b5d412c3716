// When the timed gate will not judge: a machine running several times more
// runnable work than it has cores times nothing reliably. On this 2-core box at
// load average 8-9 (other builds and tests beside the gate) an unchanged build
// measured p50 delivery 1.8 ms in the baseline and 11.4 ms minutes later, CPU
// per message +64% (fresh clone, 2026-12-06): a FAIL there says nothing about
// the commit. So the gate judges only when the baseline and the run were each
// measured below LOAD_PER_CPU_MAX; otherwise it prints its table for the
// record and exits 2 (cannot judge), naming the load. The deterministic gate
// (instr-gate.ts) has no such limit: instructions do not depend on neighbours.
import type { GateRunRecord } from './baseline';

/** Load average (1 min) per core above which the timed gate will not judge. The gate itself runs ~2-3 busy processes. */
export const LOAD_PER_CPU_MAX = 3;

/** The highest 1-minute load average seen while measuring (round starts and ends, the run's start and end). */
export function peakLoad(rec: GateRunRecord): number {
  const seen = [rec.machine.loadavg_start[0] ?? 0, rec.machine.loadavg_end?.[0] ?? 0];
  for (const r of rec.rounds) seen.push(r.loadavg_start, r.loadavg_end);
  return Math.max(...seen);
}

/** Why the gate will not judge these two records, or null when it may. */
export function oversubscribed(baseline: GateRunRecord, run: GateRunRecord): string | null {
  const problems: string[] = [];
  for (const [side, rec] of [['baseline', baseline], ['this run', run]] as const) {
    const cpus = Math.max(1, rec.machine.cpus);
    const peak = peakLoad(rec);
    if (peak > LOAD_PER_CPU_MAX * cpus) problems.push(`${side} was measured at load average ${peak} on ${cpus} cores (> ${LOAD_PER_CPU_MAX} per core)`);
  }
  return problems.length > 0 ? `the machine was oversubscribed: ${problems.join('; ')}` : null;
}
