// How many iterations an open-model (arrival-rate) executor has come due by a
// time into the run: the area under its rate curve. Here, below the engine, so
// that the world can size what it sets up to the schedule (../world/e2ee-window-use.ts);
// the engine's schedule (../engine/schedule.ts) builds on it.
import type { ResolvedExecutor } from '../model/plan';
import { rampPieces } from './ramping-arrival-rate';

export function isArrivalRate(e: ResolvedExecutor): boolean {
  return e.executor === 'constant-arrival-rate' || e.executor === 'ramping-arrival-rate';
}

/** Iterations of an arrival-rate executor due by `tMs` into the run, over all shards (continuous; null: closed model). */
export function iterationsDue(e: ResolvedExecutor, tMs: number): number | null {
  if (!isArrivalRate(e)) return null;
  const local = Math.min(Math.max(0, tMs - e.startMs), e.durationMs);
  if (e.executor === 'constant-arrival-rate') return (local * e.rate) / e.timeUnitMs;
  let due = 0;
  for (const p of rampPieces(e.startRate, e.stages, e.timeUnitMs)) {
    const x = Math.min(Math.max(0, local - p.startMs), p.durationMs);
    due = p.before + p.rate * x + (p.slope * x * x) / 2;
    if (local < p.startMs + p.durationMs) break;
  }
  return due;
}
