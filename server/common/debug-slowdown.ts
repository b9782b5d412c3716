// A test aid, never for production: WA_DEBUG_SLOWDOWN_US=<n> makes the chat
// service busy-spin n microseconds of CPU for every message it accepts, on the
// hot path (inside the tick, before the message is stored). It exists so the
// CI performance gate (tools/perf-gate/, docs/perf-gate.md) can be shown to fail
// on a known, measured regression. Off (0) unless the variable is set; read
// once at start; bounded so a typo cannot turn the service into a heater.

/** The largest slowdown accepted: 10 ms per message is already a ~100x regression. */
export const DEBUG_SLOWDOWN_US_MAX = 10_000;

/** The knob's value from the environment: 0 when unset; a malformed or out-of-range value fails loudly. */
export function debugSlowdownUs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.WA_DEBUG_SLOWDOWN_US;
  if (raw === undefined || raw === '') return 0;
  const us = Number(raw);
  if (!Number.isInteger(us) || us < 0 || us > DEBUG_SLOWDOWN_US_MAX) {
    throw new Error(`WA_DEBUG_SLOWDOWN_US=${raw}: must be an integer within 0..${DEBUG_SLOWDOWN_US_MAX} (microseconds per message; a test aid)`);
  }
  return us;
}

/** Burn `us` microseconds of CPU on this thread (a spin, not a sleep: the cost is CPU, like slower code). */
export function spinUs(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {
    // spin
  }
}
