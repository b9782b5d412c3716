// The open-loop pacing loop of the simple fixed-rate loads (the pair load, the
// group fan-out bench): `total` sends at `rate` per second, each handed its own
// scheduled time so latency counts from when it was due, not from when the
// loop got round to it (no coordinated omission). A late loop catches up by
// sending everything already due in one go. The scenario engine's executors
// (loadgen/executors) are the full version of this; these loads need no VUs.
import { performance } from 'node:perf_hooks';

/** How often the loop wakes; a send is at most this late before its catch-up. */
export const OPEN_LOOP_TICK_MS = 1;

export interface OpenLoop {
  rate: number;
  total: number;
  /** Send number `k` (0-based), due at `dueMs` (performance.now() clock). */
  send(dueMs: number, k: number): void;
  /** Called once per wake-up after the due sends (progress lines); `startMs` is the loop's start. */
  onWake?(nowMs: number, startMs: number): void;
}

/** Runs the loop; resolves once all `total` sends went out. Returns the start time. */
export function runOpenLoop(loop: OpenLoop): Promise<number> {
  const start = performance.now();
  let k = 0;
  return new Promise<number>((resolve) => {
    const wake = () => {
      const now = performance.now();
      while (k < loop.total) {
        const due = start + (k * 1000) / loop.rate;
        if (due > now) break;
        loop.send(due, k);
        k++;
      }
      loop.onWake?.(now, start);
      if (k >= loop.total) return resolve(start);
      setTimeout(wake, OPEN_LOOP_TICK_MS);
    };
    wake();
  });
}
