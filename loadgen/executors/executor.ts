// What every executor shares: VUs, the iteration life cycle, graceful stop.
// Each executor file adds one scheduling strategy (k6's names and semantics):
//   constant-arrival-rate, ramping-arrival-rate   open model: iterations start on a
//       schedule whether or not earlier ones finished; no free VU -> dropped_iterations
//   constant-vus, ramping-vus, per-vu-iterations  closed model: each VU loops
//
// Times are the worker's monotonic clock in ms (performance.now()). An
// executor owns the segment share of its scenario (see model/segments.ts):
// iterations n = index, index + count, ... and VUs likewise.
import type { ResolvedExecutor } from '../model/plan';
import type { Segment } from '../model/segments';
import type { MetricsRegistry } from '../metrics/registry';

/** A virtual user: an execution slot. Objects are reused; `gen` tells a late reply from the current iteration's. */
export interface Vu {
  id: number;
  executor: Executor;
  busy: boolean;
  gen: number;
  /** When this iteration was due (open model) or started (closed model). */
  scheduledMs: number;
  startMs: number;
  /** Closed model: iterations this VU has completed. */
  iterations: number;
  /** Ramping-vus: finish the current iteration, then leave. */
  retiring: boolean;
}

/** What an iteration runs. It must call `vu.executor.iterationDone(vu, gen, ok)` exactly once, possibly synchronously. */
export interface Workload {
  iterate(vu: Vu): void;
  /** An iteration fell due but found no free VU (open model): it is dropped, and the workload may count what it stood for. */
  dropped?(): void;
}

export interface ExecutorHost {
  now(): number;
  /** Worker clock at the start of the measured window. */
  readonly t0: number;
  readonly metrics: MetricsRegistry;
  readonly segment: Pick<Segment, 'index' | 'count'>;
  workload(cfg: ResolvedExecutor): Workload;
  /** Ask for a scheduler tick soon (a VU became free in a closed-model executor). */
  wake(): void;
}

export type ExecutorState = 'waiting' | 'running' | 'stopping' | 'done';

/** Iterations an arrival-rate executor starts per tick at most, so replies keep being read under a backlog. */
export const ITERATIONS_PER_TICK_MAX = 20_000;

export abstract class Executor {
  state: ExecutorState = 'waiting';
  /** VUs currently running an iteration. */
  active = 0;
  /** VUs that exist (pre-allocated and grown). */
  allocated = 0;
  protected readonly workload: Workload;
  protected readonly startAt: number;
  protected readonly endAt: number;
  private readonly hardStopAt: number;
  private nextVuId = 0;
  private readonly vus: Vu[] = [];

  constructor(readonly cfg: ResolvedExecutor, protected readonly host: ExecutorHost) {
    this.workload = host.workload(cfg);
    this.startAt = host.t0 + cfg.startMs;
    this.endAt = this.startAt + cfg.durationMs;
    this.hardStopAt = this.endAt + cfg.gracefulStopMs;
  }

  /** Called by the scheduler at every tick. */
  tick(now: number): void {
    if (this.state === 'done') return;
    if (this.state === 'waiting') {
      if (now < this.startAt) return;
      this.state = 'running';
      this.onStart(now);
    }
    if (this.state === 'running') {
      // First start what fell due before the end (a late tick must not lose the last iterations).
      const caughtUp = this.onTick(now);
      if (now >= this.endAt && caughtUp) this.beginStop();
    }
    if (this.state === 'stopping') {
      if (this.active === 0) this.state = 'done';
      else if (now >= this.hardStopAt) this.interrupt();
    }
  }

  /**
   * The earliest time this executor's tick has something to do (start, an iteration due, the end, the hard stop);
   * `now` means tick at the scheduler's pace. Only a hint for sleeping longer while idle: tick() stays the authority.
   */
  nextTickAt(now: number): number {
    if (this.state === 'done') return Infinity;
    if (this.state === 'waiting') return this.startAt;
    if (this.state === 'stopping') return this.hardStopAt;
    return Math.min(this.dueAt(now), this.endAt);
  }

  /** Running: when the next iteration falls due (closed-model executors: now, their VUs loop and wake the scheduler). */
  protected dueAt(now: number): number {
    return now;
  }

  /** Abort (a threshold with abortOnFail failed, or the user pressed Ctrl-C): stop starting iterations now. */
  abort(): void {
    if (this.state === 'waiting') this.state = 'done';
    else if (this.state === 'running') this.beginStop();
  }

  protected abstract onStart(now: number): void;
  /** Start what is due; false while a backlog of due iterations remains (the scheduler ticks again at once). */
  protected abstract onTick(now: number): boolean;
  /** A VU finished an iteration and is free again (closed-model executors start the next one). */
  protected abstract onVuFree(vu: Vu, now: number): void;

  protected vusAll(): readonly Vu[] {
    return this.vus;
  }

  protected newVu(): Vu {
    const vu: Vu = { id: this.nextVuId++, executor: this, busy: false, gen: 0, scheduledMs: 0, startMs: 0, iterations: 0, retiring: false };
    this.vus.push(vu);
    this.allocated++;
    return vu;
  }

  protected startIteration(vu: Vu, scheduledMs: number, now: number): void {
    vu.busy = true;
    vu.gen++;
    vu.scheduledMs = scheduledMs;
    vu.startMs = now;
    this.active++;
    if (scheduledMs < now) this.host.metrics.trend.schedule_lag.record(now - scheduledMs, this.cfg.index);
    else this.host.metrics.trend.schedule_lag.record(0, this.cfg.index);
    this.workload.iterate(vu);
  }

  /** Workloads call this once per iteration. Late calls for an interrupted iteration are ignored. */
  iterationDone(vu: Vu, gen: number, ok: boolean): void {
    if (!vu.busy || gen !== vu.gen) return;
    vu.busy = false;
    this.active--;
    vu.iterations++;
    const now = this.host.now();
    const m = this.host.metrics;
    const s = this.cfg.index;
    // As in k6, a failed iteration is still an iteration; timeouts and rejections have their own counters.
    void ok;
    m.counter.iterations.add(1, s);
    m.trend.iteration_duration.record(now - vu.startMs, s);
    if (this.state === 'running') this.onVuFree(vu, now);
    else if (this.state === 'stopping' && this.active === 0) this.state = 'done';
  }

  /** Closed-model executors whose VUs are all finished end before their duration. */
  protected finish(): void {
    if (this.state === 'running') this.beginStop();
  }

  private beginStop(): void {
    this.state = this.active === 0 ? 'done' : 'stopping';
  }

  private interrupt(): void {
    for (const vu of this.vus) {
      if (!vu.busy) continue;
      vu.busy = false;
      vu.gen++;
      this.host.metrics.counter.iterations_interrupted.add(1, this.cfg.index);
    }
    this.active = 0;
    this.state = 'done';
  }
}
