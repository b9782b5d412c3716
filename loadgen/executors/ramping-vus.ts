// ramping-vus (k6): the number of looping VUs moves linearly from startVUs
// through each stage's target. VUs above the target finish their current
// iteration and leave (gracefulRampDown bounds that by the executor's
// graceful stop).
import { stageValueAt } from '../model/plan';
import { stripedShare } from '../model/segments';
import type { Vu } from './executor';
import { ClosedModelExecutor } from './closed';

export class RampingVus extends ClosedModelExecutor {
  /** VUs that should be looping (ready or busy, not retiring). */
  private alive = 0;
  private readonly parked: Vu[] = [];

  protected onStart(now: number): void {
    this.adjust(now);
  }

  /** Global VU target at `now`, linearly interpolated within the current stage. */
  private target(now: number): number {
    return Math.round(stageValueAt(this.cfg.startVUs, this.cfg.stages, now - this.startAt));
  }

  protected override adjust(now: number): void {
    const want = stripedShare(this.target(now), this.host.segment);
    while (this.alive < want) {
      const vu = this.parked.pop() ?? this.newVu();
      vu.retiring = false;
      this.ready.push(vu);
      this.alive++;
    }
    while (this.alive > want) {
      const idle = this.ready.pop();
      if (idle) {
        this.parked.push(idle);
      } else {
        // Every alive VU is busy: the next one to finish leaves.
        const busy = this.findBusyNotRetiring();
        if (!busy) break;
        busy.retiring = true;
      }
      this.alive--;
    }
  }

  private findBusyNotRetiring(): Vu | undefined {
    // Linear, but only while shrinking, and VUs are few compared to messages.
    for (const vu of this.vusAll()) if (vu.busy && !vu.retiring) return vu;
    return undefined;
  }

  protected keepGoing(vu: Vu): boolean {
    if (vu.retiring) {
      vu.retiring = false;
      this.parked.push(vu);
      return false;
    }
    return true;
  }
}
