// What each process of a system started here used per interval of the
// measured window (CPU seconds, RSS), sampled by the process that started it.
// A single-process run records this in its own interval loop (run.ts); with
// --procs the parent starts the system and the children only know their own
// side, so the parent samples here and the merge puts the figures into the
// merged timeline (connect-ramp's gateway figures need them).
import type { LocalSystem } from './local-target';

export interface SystemInterval {
  system_cpu_s: Record<string, number>;
  system_rss_bytes: Record<string, number>;
}

/** Intervals sampled at most (a 6 h run at 1 s): the map stays bounded. */
const SAMPLED_INTERVALS_MAX = 6 * 3600;

export class SystemSampler {
  readonly intervals = new Map<number, SystemInterval>();
  private timer: NodeJS.Timeout | null = null;
  private cpuMark: Record<string, number>;
  private next = 0;

  constructor(private readonly system: LocalSystem, private readonly startAtEpochMs: number, private readonly intervalMs: number) {
    this.cpuMark = system.cpuSeconds();
    this.arm();
  }

  stop(): Map<number, SystemInterval> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return this.intervals;
  }

  private arm(): void {
    if (this.next >= SAMPLED_INTERVALS_MAX) return;
    const due = this.startAtEpochMs + (this.next + 1) * this.intervalMs;
    this.timer = setTimeout(() => this.sample(), Math.max(0, due - Date.now()));
    this.timer.unref();
  }

  private sample(): void {
    const now = this.system.cpuSeconds();
    const cpu: Record<string, number> = {};
    // A process restarted by a fault is a new process: its CPU counts from its start.
    for (const [name, s] of Object.entries(now)) {
      const mark = this.cpuMark[name] ?? s;
      cpu[name] = Math.round((s >= mark ? s - mark : s) * 1000) / 1000;
    }
    this.cpuMark = now;
    const rss: Record<string, number> = {};
    for (const [name, v] of Object.entries(this.system.rssBytes())) if (v !== null) rss[name] = v;
    this.intervals.set(this.next++, { system_cpu_s: cpu, system_rss_bytes: rss });
    this.arm();
  }
}
