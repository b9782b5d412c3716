// The open model shared by constant-arrival-rate and ramping-arrival-rate:
// iteration n is due at schedule.timeOf(n), whether or not earlier ones have
// finished. A due iteration takes a free VU; with none free it grows the pool
// up to maxVUs; past that it is dropped and counted (k6's dropped_iterations).
// Each iteration carries its due time, and latencies count from it, so a
// stalled target or a late generator shows in the percentiles.
import type { ResolvedExecutor } from '../model/plan';
import { stripedShare } from '../model/segments';
import { Executor, ITERATIONS_PER_TICK_MAX, type ExecutorHost, type Vu } from './executor';

/** Global iteration n -> ms after the executor's start (Infinity past the end). */
export interface ArrivalSchedule {
  timeOf(n: number): number;
}

export abstract class ArrivalRateExecutor extends Executor {
  private readonly free: Vu[] = [];
  private readonly maxLocal: number;
  /** Next global iteration number of this segment (index, index + count, ...). */
  private n: number;
  private nextDue: number;
  private schedule!: ArrivalSchedule;

  constructor(cfg: ResolvedExecutor, host: ExecutorHost) {
    super(cfg, host);
    const seg = host.segment;
    const pre = stripedShare(cfg.preAllocatedVUs, seg);
    // A segment with a share of the rate needs at least one VU, else all its iterations drop.
    this.maxLocal = Math.max(1, stripedShare(cfg.maxVUs, seg), pre);
    for (let i = 0; i < Math.max(1, pre); i++) this.free.push(this.newVu());
    this.n = seg.index;
    this.nextDue = Infinity;
  }

  protected abstract makeSchedule(): ArrivalSchedule;

  protected onStart(): void {
    this.schedule = this.makeSchedule();
    this.nextDue = this.startAt + this.schedule.timeOf(this.n);
  }

  protected onTick(now: number): boolean {
    const step = this.host.segment.count;
    let started = 0;
    while (this.nextDue <= now && this.nextDue < this.endAt && started < ITERATIONS_PER_TICK_MAX) {
      const vu = this.free.pop() ?? (this.allocated < this.maxLocal ? this.newVu() : undefined);
      if (vu) this.startIteration(vu, this.nextDue, now);
      else {
        this.host.metrics.counter.dropped_iterations.add(1, this.cfg.index);
        this.workload.dropped?.();
      }
      started++;
      this.n += step;
      this.nextDue = this.startAt + this.schedule.timeOf(this.n);
    }
    if (started < ITERATIONS_PER_TICK_MAX) return true;
    this.host.wake();
    return false;
  }

  protected override dueAt(): number {
    return this.nextDue;
  }

  protected onVuFree(vu: Vu): void {
    this.free.push(vu);
  }
}
