// ramping-arrival-rate (k6): the rate moves linearly from startRate through
// each stage's target over the stage's duration; iteration n is due when the
// area under the rate curve reaches n (an exact quadratic solve per stage,
// so stages and segments add up to exactly the right count).
import { ArrivalRateExecutor, type ArrivalSchedule } from './arrival';
import type { ResolvedStage } from '../model/plan';

interface Piece {
  startMs: number;
  durationMs: number;
  /** Iterations per ms at the start of the piece, and its slope (per ms^2). */
  rate: number;
  slope: number;
  /** Iterations due before the piece starts. */
  before: number;
}

export function rampPieces(startRate: number, stages: readonly ResolvedStage[], timeUnitMs: number): Piece[] {
  const pieces: Piece[] = [];
  let t = 0;
  let rate = startRate / timeUnitMs;
  let before = 0;
  for (const st of stages) {
    const end = st.target / timeUnitMs;
    const slope = st.durationMs > 0 ? (end - rate) / st.durationMs : 0;
    pieces.push({ startMs: t, durationMs: st.durationMs, rate, slope, before });
    before += st.durationMs * (rate + end) / 2;
    t += st.durationMs;
    rate = end;
  }
  return pieces;
}

/** Time (ms from start) at which the area under the piecewise-linear rate reaches n; Infinity past the end. */
export function rampTimeOf(pieces: readonly Piece[], n: number, hint = { i: 0 }): number {
  for (let i = hint.i; i < pieces.length; i++) {
    const p = pieces[i]!;
    const need = n - p.before;
    const area = p.durationMs * (2 * p.rate + p.slope * p.durationMs) / 2;
    if (need < area) {
      hint.i = i;
      // Solve rate*x + slope*x^2/2 = need for the smallest x >= 0 (stable form, fine when slope ~ 0).
      const disc = p.rate * p.rate + 2 * p.slope * need;
      const x = need <= 0 ? 0 : (2 * need) / (p.rate + Math.sqrt(Math.max(0, disc)));
      return p.startMs + Math.min(x, p.durationMs);
    }
  }
  return Infinity;
}

export class RampingArrivalRate extends ArrivalRateExecutor {
  protected makeSchedule(): ArrivalSchedule {
    const pieces = rampPieces(this.cfg.startRate, this.cfg.stages, this.cfg.timeUnitMs);
    const hint = { i: 0 };
    return { timeOf: (n) => rampTimeOf(pieces, n, hint) };
  }
}
