// When the chat engine's next tick runs. A tick is one store commit (the group
// commit), and the store's cost is per commit and per page it dirties, hardly
// per message: at 6,000 msg/s a tick per event-loop turn committed a handful
// of messages each, ~4.5 file writes and ~10 KB written per message on SQLite
// (`make run-pairs`' io_per_message). So when events arrive fast enough that a
// short wait gathers several more, the tick waits (tick_linger_ms); when they
// arrive slowly it runs at once: there is nothing to gather, and the wait
// would only be latency.
import { performance } from 'node:perf_hooks';

/** The arrival rate is counted over windows this long (one clock read per tick scheduled, none per event). */
const WINDOW_MS = 100;

export class TickPacer {
  private events = 0;
  private windowStartMs = performance.now();
  /** Events per second over the last full window. */
  private ratePerS = 0;

  constructor(private readonly lingerMs: number, private readonly minEventsPerS: number) {}

  /** An event arrived for the next tick. */
  arrived(): void {
    this.events++;
  }

  /** How long to wait before the tick now being scheduled: 0 (this turn) or the linger. */
  delayMs(): number {
    if (this.lingerMs <= 0) return 0;
    const now = performance.now();
    const elapsed = now - this.windowStartMs;
    if (elapsed >= WINDOW_MS) {
      // A window with no tick scheduled in it (idle) counts as its events over the whole gap: the rate falls.
      this.ratePerS = (this.events * 1000) / elapsed;
      this.events = 0;
      this.windowStartMs = now;
    }
    return this.ratePerS >= this.minEventsPerS ? this.lingerMs : 0;
  }

  /** Events per second over the last full window (metrics, tests). */
  get rate(): number {
    return this.ratePerS;
  }
}
