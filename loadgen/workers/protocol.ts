// Messages between the coordinator (main thread) and its worker threads.
import type { RunPlan } from '../model/plan';
import type { Segment } from '../model/segments';
import type { TargetSpec } from '../drivers/connection';
import type { MetricsSnapshot } from '../metrics/registry';
import type { SetupStats } from '../world/setup';

export interface WorkerInit {
  workerId: number;
  plan: RunPlan;
  segment: Segment;
  target: TargetSpec;
  localAddresses: string[];
  /** Connect users that start offline once, so a target without bulk provisioning knows them. */
  touchOffline: boolean;
  /** Tagged sub-metrics thresholds need ("delivery_latency{scenario:chat}"). */
  tagged: string[];
  intervalMs: number;
}

export type ToWorker =
  | { type: 'start'; atEpochMs: number }
  | { type: 'abort'; reason: string }
  | { type: 'teardown' };

/** One executor as a worker (or, summed, the whole run) sees it at the end of an interval. */
export interface ExecutorStatus {
  name: string;
  state: string;
  active: number;
  allocated: number;
}

export interface WorkerStatus {
  /** CPU seconds this thread used during the interval (null when unknown). */
  threadCpuS: number | null;
  outstanding: number;
  executors: ExecutorStatus[];
}

export interface WorkerDone {
  measuredMs: number;
  graceMs: number;
  /** ms from the common start to the first reconnect and to the last DrainDone (-1: none). */
  firstReconnectMs: number;
  lastDrainDoneMs: number;
  outstandingOnline: number;
  /** A few lost messages described (sender, recipient, number, times), for the summary. */
  lostExamples: string[];
  outstandingOffline: number;
  gaveUpGaps: number;
}

export type FromWorker =
  | { type: 'log'; line: string }
  | { type: 'ready'; setup: SetupStats }
  | { type: 'interval'; index: number; snap: MetricsSnapshot; status: WorkerStatus }
  | { type: 'done'; done: WorkerDone }
  | { type: 'closed' }
  | { type: 'fatal'; message: string };
