// The closed model shared by constant-vus, ramping-vus and per-vu-iterations:
// each VU runs one iteration after another (the next starts when the previous
// ends), so the target's speed sets the rate. Free VUs wait in a ready queue
// that the scheduler drains on its next tick (never recursively from a reply).
import { Executor, ITERATIONS_PER_TICK_MAX, type Vu } from './executor';

export abstract class ClosedModelExecutor extends Executor {
  protected ready: Vu[] = [];

  protected onTick(now: number): boolean {
    if (now >= this.endAt) return true;
    this.adjust(now);
    if (this.ready.length === 0) return true;
    const batch = this.ready.length > ITERATIONS_PER_TICK_MAX ? this.ready.splice(0, ITERATIONS_PER_TICK_MAX) : this.ready;
    if (batch === this.ready) this.ready = [];
    for (const vu of batch) this.startIteration(vu, now, now);
    if (this.ready.length > 0) this.host.wake();
    return true;
  }

  /** Ramping-vus grows or shrinks its VUs here. */
  protected adjust(_now: number): void {}

  protected onVuFree(vu: Vu, now: number): void {
    if (this.keepGoing(vu, now)) {
      this.ready.push(vu);
      this.host.wake();
    }
  }

  /** Should this VU run another iteration? */
  protected abstract keepGoing(vu: Vu, now: number): boolean;
}
