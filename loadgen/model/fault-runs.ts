// What the fault scenarios (scenarios/failover.ts, rolling-restart.ts,
// zone-loss.ts) share: a short open-model warm-up to the rate, then a steady
// phase long enough to hold the faults, and the integrity thresholds a fault
// must never break.
import type { ExecutorConfig, ThresholdSpec } from './scenario';

/** Warm up to `rate` msg/s over 4 s, then hold it for `steadySeconds` (the `chat` workload). */
export function warmupThenSteady(rate: number, steadySeconds: number): Record<string, ExecutorConfig> {
  return {
    warmup: {
      executor: 'ramping-arrival-rate', startRate: rate / 10, timeUnit: '1s',
      stages: [{ duration: '4s', target: rate }], preAllocatedVUs: 100, maxVUs: 2000, gracefulStop: '10s', exec: 'chat',
    },
    steady: {
      executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration: `${steadySeconds}s`, startTime: '4s',
      preAllocatedVUs: 200, maxVUs: 4000, gracefulStop: '10s', exec: 'chat',
    },
  };
}

/** Nothing acknowledged lost, nothing delivered twice after dedupe, no chat reordered. */
export const INTEGRITY_THRESHOLDS: Readonly<Record<string, ThresholdSpec[]>> = Object.freeze({
  delivery_lost: ['count==0'],
  delivery_duplicated: ['count==0'],
  delivery_out_of_order: ['count==0'],
});
