// A test aid, never for production: WA_DEBUG_SLOWDOWN_US=<n> (read by
// server/common/config.ts, bounded by DEBUG_SLOWDOWN_US_MAX there) makes the
// chat service busy-spin n microseconds of CPU for every message it accepts,
// on the hot path (inside the tick, before the message is stored). It exists
// so the CI performance gate (tools/perf-gate/, docs/perf-gate.md) can be shown
// to fail on a known, measured regression. Off (0) unless the variable is set.

/** Burn `us` microseconds of CPU on this thread (a spin, not a sleep: the cost is CPU, like slower code). */
export function spinUs(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {
    // spin
  }
}
