// Shared by the adapters whose runs are rate stages of the 1:1 pair load
// (loadgen/engine/pair-load.ts StageResult): which stage counts as the node's
// sustained rate, the CPU per message, and the ramp's USL points.
import type { MeasuredFigure, UslPoint } from '../measured';

/** The fields of a StageResult the capacity model reads (checked at run time: these come from JSON). */
export interface StageLike {
  rate: number;
  durationS: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  achievedRate: number;
  latency: { p99_ms: number; mean_ms: number; min_ms: number; max_ms: number };
}

export function asStages(value: unknown, where: string): StageLike[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error(`${where}: no stages`);
  value.forEach((s: Record<string, unknown>, i) => {
    const lat = s?.latency as Record<string, unknown> | undefined;
    const numbers = ['rate', 'durationS', 'delivered', 'lost', 'duplicated', 'outOfOrder', 'achievedRate'];
    for (const k of numbers) if (typeof s?.[k] !== 'number') throw new Error(`${where}: stage ${i} has no numeric ${k}`);
    for (const k of ['p99_ms', 'mean_ms', 'min_ms', 'max_ms']) {
      if (typeof lat?.[k] !== 'number') throw new Error(`${where}: stage ${i} has no latency.${k}`);
    }
  });
  return value as StageLike[];
}

export function stageHeld(s: StageLike, p99MsMax: number): boolean {
  return s.delivered > 0 && s.latency.p99_ms < p99MsMax && s.lost === 0 && s.duplicated === 0 && s.outOfOrder === 0;
}

export interface SustainedPick {
  /** The highest-rate stage that held the latency target with nothing lost, duplicated or reordered. */
  held: StageLike | null;
  /** The lowest-rate stage above it that broke, if the run went that far. */
  broke: StageLike | null;
  /** Stages below the held one that broke: noise (a shared machine), worth a warning. */
  brokeBelow: StageLike[];
}

export function pickSustainedStage(stages: readonly StageLike[], p99MsMax: number): SustainedPick {
  let held: StageLike | null = null;
  for (const s of stages) if (stageHeld(s, p99MsMax) && (!held || s.rate > held.rate)) held = s;
  let broke: StageLike | null = null;
  for (const s of stages) {
    if (stageHeld(s, p99MsMax)) continue;
    if (held && s.rate <= held.rate) continue;
    if (!broke || s.rate < broke.rate) broke = s;
  }
  const brokeBelow = held ? stages.filter((s) => s.rate < held!.rate && !stageHeld(s, p99MsMax)) : [];
  return { held, broke, brokeBelow };
}

function describeStage(s: StageLike): string {
  return `${s.rate} msgs/s for ${s.durationS}s: p99 ${s.latency.p99_ms.toFixed(1)} ms, lost ${s.lost}, dup ${s.duplicated}, reordered ${s.outOfOrder}`;
}

/** The throughput figure of a sustained pick, or null with the reason. */
export function sustainedFigure(pick: SustainedPick, source: string, p99MsMax: number, what: string): MeasuredFigure | string {
  if (!pick.held) {
    const why = pick.broke ? ` (lowest stage ${describeStage(pick.broke)})` : '';
    return `no stage held p99 < ${p99MsMax} ms with nothing lost${why}`;
  }
  // The rate the schedule actually achieved, never more than the rate asked for.
  const value = Math.min(pick.held.rate, pick.held.achievedRate);
  const broke = pick.broke;
  const noisy = pick.brokeBelow.length > 0
    ? `; lower stages broke too (${pick.brokeBelow.map((s) => s.rate).join(', ')} msgs/s): a noisy machine, re-run before quoting`
    : '';
  return {
    value,
    basis: broke ? 'breakpoint' : 'sustained',
    source,
    note: (broke
      ? `${what}: held ${describeStage(pick.held)}; broke at ${describeStage(broke)}`
      : `${what}: held ${describeStage(pick.held)}; no higher stage was tried, so the node may carry more`) + noisy,
  };
}

/**
 * One USL point per stage. Throughput counts deliveries over the window they arrived in (the stage
 * plus the latency spread: an overloaded stage delivers its backlog after the schedule ends), and
 * concurrency is the mean number of messages in flight by Little's law: N = X * mean latency.
 */
export function uslPointsFromStages(stages: readonly StageLike[], source: string): UslPoint[] {
  const points: UslPoint[] = [];
  for (const s of stages) {
    if (s.delivered <= 0 || s.durationS <= 0) continue;
    const windowS = s.durationS + Math.max(0, s.latency.max_ms - s.latency.min_ms) / 1000;
    const throughput_per_s = s.delivered / windowS;
    const concurrency = throughput_per_s * (s.latency.mean_ms / 1000);
    if (concurrency > 0) points.push({ concurrency, throughput_per_s, source: `${source} @${s.rate}/s`, concurrency_from: 'little' });
  }
  return points;
}

export function cpuUsPerMsg(cpuSeconds: number | undefined, delivered: number): number | null {
  if (typeof cpuSeconds !== 'number' || !(cpuSeconds > 0) || delivered <= 0) return null;
  return (cpuSeconds * 1e6) / delivered;
}
