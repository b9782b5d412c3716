// Outputs are plug-ins with one small life cycle, like k6's: start (the run
// is about to begin), interval (once per interval while it runs), end (the
// summary is final). The interface lives here, with the coordinator that
// calls it; each output is a file in loadgen/outputs/ and the command line
// (loadgen/commands/) picks which ones a run gets, so the engine never
// imports an output.
import type { MetricsAggregate } from '../metrics/aggregate';
import type { RunPlan } from '../model/plan';
import type { Segment } from '../model/segments';
import type { RunSummary } from './summary';
import type { IntervalRecord } from './timeline';
import type { ExecutorStatus } from '../workers/protocol';

export interface LiveStatus {
  elapsedMs: number;
  plan: RunPlan;
  /** Cumulative metrics so far. */
  agg: MetricsAggregate;
  /** The interval just completed (all workers reported it). */
  last: IntervalRecord;
  intervalMs: number;
  executors: ExecutorStatus[];
  /** The run's faults so far (ms into the measured window; null: not yet); absent when it declares none. */
  faults?: readonly FaultWindow[];
}

/** A fault's window as the fault executor records it live: from its first step to the process back. */
export interface FaultWindow {
  id: number;
  started_ms: number | null;
  ended_ms: number | null;
}

export interface Output {
  readonly name: string;
  /**
   * `shard`: which share of the plan this process runs (absent: all of it); `segments`: its worker threads'
   * segments (executor iteration n runs in the segment n mod count), to count this process's scheduled share.
   */
  start?(ctx: { plan: RunPlan; runId: string; outDir: string; shard?: { index: number; count: number }; segments?: readonly Segment[] }): Promise<void> | void;
  interval?(live: LiveStatus): void;
  end?(summary: RunSummary, outDir: string): Promise<void> | void;
  /** Release what start() took (sockets, timers). */
  close?(): Promise<void> | void;
}
