// constant-arrival-rate (k6): `rate` iterations per `timeUnit` for `duration`,
// iteration n due at n * timeUnit / rate, VUs from preAllocatedVUs up to maxVUs.
import { ArrivalRateExecutor, type ArrivalSchedule } from './arrival';

export class ConstantArrivalRate extends ArrivalRateExecutor {
  protected makeSchedule(): ArrivalSchedule {
    const msPerIteration = this.cfg.timeUnitMs / this.cfg.rate;
    const durationMs = this.cfg.durationMs;
    return {
      timeOf: (n) => {
        const t = n * msPerIteration;
        return t < durationMs ? t : Infinity;
      },
    };
  }
}
