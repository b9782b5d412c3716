// Runs a plan's faults at their times during the measured window and records
// what happened to each: when it began, when the disruption was in effect
// (the process dead, stopped or frozen), when the process was back, and any
// error. Every step is bounded (FAULT_STEP_TIMEOUT_MS); finish() cancels the
// faults not yet begun, waits for those in progress (bounded) and resumes any
// process still frozen, so a run never ends with a paused process.
//
// Per fault: kill = kill(), then start() after `for` when given; pause =
// pause(), resume() after `for`; stop = stop(), then start() after `for` when
// given; restart = stop() then start() at once.
import { withTimeout } from '../../lib/async';
import type { FaultAction, FaultTarget, ResolvedFault } from '../model/faults';
import type { FaultTargets } from './fault-targets';

/** A kill, stop or start that takes longer than this failed (a start includes its readiness check). */
export const FAULT_STEP_TIMEOUT_MS = 30_000;
/**
 * The same for a Cassandra node: a start replays the commitlog and rejoins gossip until every node sees it
 * Up/Normal (10-30 s on 2 shared cores, more under load), a graceful stop drains.
 */
export const FAULT_STEP_TIMEOUT_MS_CASSANDRA = 180_000;
/** finish() waits at most two of the longest step a fault of the run can take for faults in progress. */
const FINISH_TIMEOUT_STEPS = 2;

export interface FaultStep {
  what: 'kill' | 'pause' | 'resume' | 'stop' | 'start' | 'isolate' | 'heal';
  /** ms from the start of the measured window. */
  at_ms: number;
  took_ms: number;
  error?: string;
}

/** What happened to one fault (ms from the start of the measured window; null: did not happen). */
export interface FaultRecord {
  id: number;
  label: string;
  target: FaultTarget;
  index: number;
  action: FaultAction;
  planned_at_ms: number;
  planned_for_ms: number;
  /** The executor began acting. */
  started_ms: number | null;
  /** The disruption was in effect: the process had exited, or SIGSTOP was sent. */
  down_ms: number | null;
  /** The process was back: resumed, or started and ready. */
  restored_ms: number | null;
  /** The end of the fault's window: restored, or the last step's end when it is not brought back. */
  ended_ms: number | null;
  steps: FaultStep[];
  errors: string[];
}

export interface FaultListener {
  /** The disruption of fault `id` is in effect from `epochMs` (the served-again probe measures from here). */
  down?(id: number, epochMs: number): void;
}

export class FaultExecutor {
  readonly records: FaultRecord[];
  private t0 = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  /** "target:index" of processes frozen by a pause and not yet resumed. */
  private readonly paused = new Set<string>();
  private finished = false;
  private finishing: Promise<FaultRecord[]> | null = null;
  /** Faults waiting for the end of their `for`. */
  private readonly wakers = new Set<() => void>();

  constructor(private readonly faults: readonly ResolvedFault[], private readonly targets: FaultTargets,
    private readonly log: (line: string) => void, private readonly listener: FaultListener = {}) {
    this.records = faults.map((f) => ({
      id: f.id, label: f.label, target: f.target, index: f.index, action: f.action, planned_at_ms: f.atMs, planned_for_ms: f.forMs,
      started_ms: null, down_ms: null, restored_ms: null, ended_ms: null, steps: [], errors: [],
    }));
    for (const f of faults) {
      const n = targets.count(f.target);
      if (f.index >= n) throw new Error(`fault #${f.id} (${f.label}): ${targets.description} has ${n} ${f.target} process(es)`);
      if (f.action === 'isolate' && !targets.isolate) throw new Error(`fault #${f.id} (${f.label}): ${targets.description} cannot cut a node off (run it on a topology)`);
    }
  }

  /** Schedule every fault relative to `t0EpochMs`, the start of the measured window. */
  start(t0EpochMs: number): void {
    this.t0 = t0EpochMs;
    this.faults.forEach((f, k) => this.at(f.atMs, () => this.track(this.run(f, this.records[k]!))));
  }

  /** Cancel faults not begun, wait for those in progress, resume anything still frozen; the records are final. */
  finish(): Promise<FaultRecord[]> {
    this.finishing ??= this.finishOnce();
    return this.finishing;
  }

  private async finishOnce(): Promise<FaultRecord[]> {
    this.finished = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of [...this.wakers]) wake();
    const stepMs = this.faults.some((f) => f.target === 'cassandra') ? FAULT_STEP_TIMEOUT_MS_CASSANDRA : FAULT_STEP_TIMEOUT_MS;
    await withTimeout(Promise.all([...this.running]), FINISH_TIMEOUT_STEPS * stepMs, 'faults in progress').catch((err: Error) => {
      this.log(`faults: ${err.message}`);
    });
    for (const key of [...this.paused]) {
      const [target, i] = key.split(':') as [FaultTarget, string];
      await this.step(null, 'resume', () => this.targets.resume(target, Number(i)), target);
      this.paused.delete(key);
    }
    for (const r of this.records) if (r.started_ms === null) r.errors.push('not begun: the run ended first');
    return this.records;
  }

  private now(): number {
    return Date.now() - this.t0;
  }

  /** Node's timers run on a monotonic clock and may fire a millisecond before a wall-clock target (seen:
   *  a fault planned at 2 s began at 1.999 s): a timer that wakes early waits out the rest. */
  private at(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.finished) return;
      if (Date.now() < this.t0 + ms) this.at(ms, fn);
      else fn();
    }, Math.max(0, this.t0 + ms - Date.now()));
    this.timers.add(t);
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Wait until `ms` into the window; finish() wakes every waiter at once. */
  private until(ms: number): Promise<void> {
    if (this.finished) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      // Re-armed when the timer fires before the wall-clock target (see at()); finish() wakes at once.
      const arm = () => {
        timer = setTimeout(() => (this.finished || Date.now() >= this.t0 + ms ? wake() : arm()), Math.max(0, this.t0 + ms - Date.now()));
      };
      arm();
      this.wakers.add(wake);
    });
  }

  private async run(f: ResolvedFault, r: FaultRecord): Promise<void> {
    r.started_ms = this.now();
    this.log(`fault #${f.id}: ${f.label} at ${(r.started_ms / 1000).toFixed(3)}s`);
    const t = this.targets;
    const down = () => {
      r.down_ms = this.now();
      this.listener.down?.(f.id, this.t0 + r.down_ms);
    };
    switch (f.action) {
      case 'kill':
      case 'stop': {
        const ok = await this.step(r, f.action, () => (f.action === 'kill' ? t.kill(f.target, f.index) : t.stop(f.target, f.index)));
        if (ok) down();
        if (f.forMs > 0) {
          await this.until(f.atMs + f.forMs);
          if (await this.step(r, 'start', () => t.start(f.target, f.index))) r.restored_ms = this.now();
        }
        break;
      }
      case 'pause': {
        const key = `${f.target}:${f.index}`;
        if (await this.step(r, 'pause', () => t.pause(f.target, f.index))) {
          this.paused.add(key);
          down();
        }
        await this.until(f.atMs + f.forMs);
        if (await this.step(r, 'resume', () => t.resume(f.target, f.index))) {
          this.paused.delete(key);
          r.restored_ms = this.now();
        }
        break;
      }
      case 'isolate': {
        if (await this.step(r, 'isolate', () => t.isolate!(f.target, f.index))) down();
        await this.until(f.atMs + f.forMs);
        if (await this.step(r, 'heal', () => t.heal!(f.target, f.index))) r.restored_ms = this.now();
        break;
      }
      case 'restart': {
        if (await this.step(r, 'stop', () => t.stop(f.target, f.index))) down();
        if (await this.step(r, 'start', () => t.start(f.target, f.index))) r.restored_ms = this.now();
        break;
      }
    }
    r.ended_ms = this.now();
    this.log(`fault #${f.id}: ${f.label} done at ${(r.ended_ms / 1000).toFixed(3)}s${r.errors.length ? ` with errors: ${r.errors.join('; ')}` : ''}`);
  }

  /** One bounded step; its time and error go to the record (null: the final resume of finish()). */
  private async step(r: FaultRecord | null, what: FaultStep['what'], fn: () => Promise<void>, target?: FaultTarget): Promise<boolean> {
    const at = this.now();
    let error: string | undefined;
    const timeoutMs = (target ?? r?.target) === 'cassandra' ? FAULT_STEP_TIMEOUT_MS_CASSANDRA : FAULT_STEP_TIMEOUT_MS;
    try {
      await withTimeout(fn(), timeoutMs, `${what} ${r?.label ?? ''}`.trim());
    } catch (err) {
      error = (err as Error).message;
    }
    const s: FaultStep = { what, at_ms: at, took_ms: this.now() - at, ...(error ? { error } : {}) };
    if (r) {
      r.steps.push(s);
      if (error) r.errors.push(`${what}: ${error}`);
    } else if (error) this.log(`faults: ${what} at the end failed: ${error}`);
    return error === undefined;
  }
}
