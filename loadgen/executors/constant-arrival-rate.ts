// constant-arrival-rate (k6): `rate` iterations per `timeUnit` for `duration`,
// iteration n due at n * timeUnit / rate, VUs from preAllocatedVUs up to maxVUs.
import { ArrivalRateExecutor, type ArrivalSchedule } from './arrival';
import type { ResolvedExecutor } from '../model/plan';

/** The schedule (also what engine/schedule.ts counts scheduled iterations with, so the two agree exactly). */
export function constantSchedule(cfg: Pick<ResolvedExecutor, 'timeUnitMs' | 'rate' | 'durationMs'>): ArrivalSchedule {
  const msPerIteration = cfg.timeUnitMs / cfg.rate;
  const durationMs = cfg.durationMs;
  return {
    timeOf: (n) => {
      const t = n * msPerIteration;
      return t < durationMs ? t : Infinity;
    },
  };
}

export class ConstantArrivalRate extends ArrivalRateExecutor {
  protected makeSchedule(): ArrivalSchedule {
    return constantSchedule(this.cfg);
  }
}
