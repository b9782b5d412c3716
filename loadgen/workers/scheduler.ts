// One loop per worker thread drives every executor: a 1 ms timer tick (or an
// immediate one when a closed-model VU frees up or a backlog remains), then
// the world's periodic work, then the interval snapshot when one is due.
// While the world is quiet (nothing in flight, no read due) and no executor
// has anything due within the next ms, it sleeps until the next due time, up
// to IDLE_TICK_MS_MAX: a thread holding idle connections (connect-ramp's hold,
// a setup waiting for its start) no longer wakes 1,000 times a second, which
// was ~1% of a core per worker thread (docs/design/023-connections-at-scale.md).
// After the last executor ends it waits out the delivery grace (until every
// accepted message to an online recipient arrived, or the grace ran out).
import type { ResolvedExecutor, RunPlan } from '../model/plan';
import type { Segment } from '../model/segments';
import type { MetricsRegistry, MetricsSnapshot } from '../metrics/registry';
import type { Executor, ExecutorHost, Workload } from '../executors/executor';
import { createExecutor } from '../executors';
import { createWorkload } from '../workloads';
import type { World } from '../world/world';
import type { WorkerDone } from './protocol';

const TICK_MS = 1;
/** The longest sleep while quiet: bounds how late anything not announced by a due time is noticed (a read receipt scheduled by a
 * delivery that came while quiet leaves up to this late; a closed-model VU wakes the loop itself). */
const IDLE_TICK_MS_MAX = 50;
/** During the grace, how often to recount what is still missing (a scan of every stream). */
const GRACE_CHECK_MS = 100;

export class Scheduler implements ExecutorHost {
  readonly executors: Executor[];
  private timer: NodeJS.Timeout | null = null;
  private immediate = false;
  private nextInterval = 0;
  private finishing = false;
  private resolveRun: ((d: WorkerDone) => void) | null = null;
  private graceStart = 0;
  private lastGraceCheck = 0;
  private measuredMs = 0;

  constructor(
    private readonly world: World,
    private readonly plan: RunPlan,
    readonly segment: Segment,
    readonly metrics: MetricsRegistry,
    readonly t0: number,
    private readonly intervalMs: number,
    private readonly onInterval: (index: number, snap: MetricsSnapshot) => void,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.executors = plan.executors.map((cfg) => createExecutor(cfg, this));
  }

  now(): number {
    return this.world.now();
  }

  workload(cfg: ResolvedExecutor): Workload {
    return createWorkload(this.world, cfg);
  }

  wake(): void {
    if (this.immediate || this.finishing) return;
    this.immediate = true;
    setImmediate(() => {
      this.immediate = false;
      this.tick();
    });
  }

  abort(): void {
    for (const e of this.executors) e.abort();
  }

  run(): Promise<WorkerDone> {
    return new Promise((resolve) => {
      this.resolveRun = resolve;
      const wait = Math.max(0, this.t0 - this.now());
      this.timer = setTimeout(() => this.tick(), wait);
    });
  }

  private tick(): void {
    const now = this.now();
    if (!this.finishing) {
      let allDone = true;
      for (const e of this.executors) {
        e.tick(now);
        if (e.state !== 'done') allDone = false;
      }
      this.world.tick(now);
      if (allDone) {
        this.finishing = true;
        this.measuredMs = now - this.t0;
        this.graceStart = now;
      }
    } else {
      this.world.tick(now);
    }
    this.maybeSnapshot(now);
    if (this.finishing && this.graceOver(now)) return this.finish();
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), this.finishing ? GRACE_CHECK_MS / 4 : this.waitMs(now));
  }

  /** Until the next tick: TICK_MS, or while the world is quiet until the next due time (executors, interval snapshot), capped. */
  private waitMs(now: number): number {
    if (!this.world.quiet()) return TICK_MS;
    let next = this.t0 + (this.nextInterval + 1) * this.intervalMs;
    for (const e of this.executors) next = Math.min(next, e.nextTickAt(now));
    return Math.min(IDLE_TICK_MS_MAX, Math.max(TICK_MS, Math.floor(next - now)));
  }

  private graceOver(now: number): boolean {
    if (now - this.graceStart >= this.plan.deliveryGraceMs) return true;
    if (now - this.lastGraceCheck < GRACE_CHECK_MS) return false;
    this.lastGraceCheck = now;
    // Media uploads and downloads still running are deliveries not yet done too.
    return this.world.outstanding().online === 0 && (this.world.media?.running ?? 0) === 0;
  }

  private maybeSnapshot(now: number): void {
    while (now >= this.t0 + (this.nextInterval + 1) * this.intervalMs) {
      this.snapshot(this.nextInterval++);
    }
  }

  private snapshot(index: number): void {
    let active = 0;
    let allocated = 0;
    for (const e of this.executors) {
      active += e.active;
      allocated += e.allocated;
    }
    const g = this.metrics.gauge;
    g.vus.set(active);
    g.vus_max.set(allocated);
    g.connections.set(this.world.online.size);
    this.onInterval(index, this.metrics.takeSnapshot());
  }

  private finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const graceMs = this.now() - this.graceStart;
    // Sends still waiting are counted (queued at the end) and no longer expected, before what is missing is.
    this.world.settleQueuedAtEnd();
    const { online, offline } = this.world.outstanding();
    const lostExamples = online > 0 ? this.world.describeLost(this.t0) : [];
    for (const line of lostExamples) this.log(`lost: ${line}`);
    this.world.countMissing();
    this.snapshot(this.nextInterval++);
    const reconnects = this.world.reconnects;
    this.resolveRun!({
      measuredMs: this.measuredMs, graceMs,
      firstReconnectMs: reconnects.firstReconnectMs > 0 ? reconnects.firstReconnectMs - this.t0 : -1,
      lastDrainDoneMs: reconnects.lastDrainDoneMs > 0 ? reconnects.lastDrainDoneMs - this.t0 : -1,
      lostExamples,
      outstandingOnline: online, outstandingOffline: offline, gaveUpGaps: this.world.integrity.gaveUpGaps,
    });
  }
}
