// A test aid, never for production. Two knobs, read once at start by
// server/common/config.ts (bounded there) and logged loudly when on:
//   WA_DEBUG_SLOWDOWN_US=<n>   (chat service) busy-spin n µs of CPU per accepted
//                              message: a timed slowdown for the timed gate.
//   WA_DEBUG_SLOWDOWN_WORK=<n> (chat service per accepted message, gateway per
//                              inbound frame) run n units of fixed integer work:
//                              a slowdown whose instruction count does not depend
//                              on the clock, so the deterministic (callgrind)
//                              gate sees the same extra cost every run.
// They exist so the CI performance gate (tools/perf-gate/, docs/perf-gate.md)
// can be shown to fail on a known regression. Off (0) unless set.

/** Burn `us` microseconds of CPU on this thread (a spin, not a sleep: the cost is CPU, like slower code). */
export function spinUs(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {
    // spin
  }
}

/** Iterations of the mixing loop in one work unit (~250 instructions optimised: fine steps of a ~170k-instruction message). */
export const WORK_UNIT_ITERATIONS = 20;

/** Written by burnWork so the optimiser cannot drop the loop. */
let workSink = 0;

/** Run `units` units of fixed integer work: the same instructions every call, whatever the clock says. */
export function burnWork(units: number): number {
  let x = workSink | 1;
  const n = units * WORK_UNIT_ITERATIONS;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i) | 0;
  }
  workSink = x;
  return x;
}
