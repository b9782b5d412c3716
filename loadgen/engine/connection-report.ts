// The CONNECTIONS report of a run with an `idle` phase (connect-ramp): how
// fast connections opened through the whole system (TCP + upgrade with the
// token check, session registration, offline drain: a connect counts when its
// DrainDone arrives), whether every attempt is accounted for, what each held
// connection costs in memory on the generator and on the system, and what
// both sides burn holding them with no traffic (the idle phase's intervals).
//
// Memory per connection is an RSS delta: (RSS at the end of the first interval
// in which every connection of the run was open - RSS once set up, before the
// first connect) / connections then open. It includes the connect storm's
// garbage not yet collected, so it is an upper bound of what a connection
// keeps. Not the end of the hold: a process gives memory back to the system
// later (a gateway's RSS fell below its start-up figure during a 40 s hold
// while holding 11,000 connections), which would make the delta meaningless.
import type { MetricsAggregate } from '../metrics/aggregate';
import type { ResolvedExecutor } from '../model/plan';
import type { IntervalRecord } from './timeline';

/** Idle CPU is quoted per this many connections (the unit: % of a core per 10k). */
const CONNECTIONS_PER_QUOTE = 10_000;

export interface SideCost {
  /** Resident memory once set up (nothing connected yet), once every connection was open, and at the end of the hold. */
  rss_start_bytes: number | null;
  rss_connected_bytes: number | null;
  rss_held_bytes: number | null;
  /** (rss_connected_bytes - rss_start_bytes) / connections open then. */
  bytes_per_connection: number | null;
  /** CPU over the hold's whole intervals, % of one core, and that per 10k connections held. */
  idle_cpu_percent: number | null;
  idle_cpu_percent_per_10k: number | null;
}

export interface ConnectionReport {
  users: number;
  /** Reconnect iterations that tried to connect a user: ok (drained) + failed, each failure with its reason. */
  attempted: number;
  ok: number;
  failed: number;
  failed_by_reason: Record<string, number>;
  /** Ramp iterations that found no free VU (their users stay offline): dropped_iterations{scenario:<ramp>}, else the run's (an idle hold drops none). */
  dropped: number;
  /** Connections open at the end of the hold. */
  held: number;
  adds_up: boolean;
  /** Drained connects / (first connect start -> last DrainDone), and the best whole interval. */
  connects_per_s_avg: number | null;
  connects_per_s_peak: number;
  /** TCP + upgrade (token checked), and connect start -> DrainDone (the whole system). */
  connect_time_ms: { p50: number; p99: number; max: number } | null;
  drain_time_ms: { p50: number; p99: number; max: number } | null;
  hold: { start_s: number; end_s: number; intervals: number };
  loadgen: SideCost;
  /** Every gateway process together, and the chat service(s) together (null: the run did not start the system). */
  gateways: SideCost;
  chat: SideCost;
}

export interface ConnectionFacts {
  users: number;
  executors: readonly ResolvedExecutor[];
  timeline: readonly IntervalRecord[];
  intervalMs: number;
  loadgenRssStartBytes: number | null;
  /** The run's system processes by name, each with its RSS once set up (summary.system; null: no system started). */
  system: Record<string, { rss_connected_bytes?: number | null }> | null;
  /** From the reconnect accounting: ms into the run of the first reconnect start and of the last DrainDone (-1: none). */
  firstReconnectMs: number;
  lastDrainDoneMs: number;
}

/** The report when the run has an `idle` phase (the hold); null otherwise. */
export function connectionReport(f: ConnectionFacts, agg: MetricsAggregate): ConnectionReport | null {
  const holdExec = f.executors.find((e) => e.exec === 'idle');
  if (!holdExec) return null;
  const startMs = holdExec.startMs;
  const endMs = holdExec.startMs + holdExec.durationMs;
  // Whole intervals inside the hold only: a partial one would mix in the ramp's tail or the teardown.
  const hold = f.timeline.filter((r) => r.index * f.intervalMs >= startMs && (r.index + 1) * f.intervalMs <= endMs);
  const last = hold[hold.length - 1];
  const held = last?.gauges.connections ?? 0;
  // The first interval with every connection open: memory is read there (see the header).
  const peak = Math.max(0, ...f.timeline.map((r) => r.gauges.connections ?? 0));
  const full = f.timeline.find((r) => (r.gauges.connections ?? 0) === peak && peak > 0);
  const [ok, attempted] = agg.rates.get('reconnect_success') ?? [0, 0];
  const byReason: Record<string, number> = {};
  const prefix = 'reconnects_failed{reason:';
  for (const [name, n] of agg.counters) if (name.startsWith(prefix)) byReason[name.slice(prefix.length, -1)] = n;
  const failed = attempted - ok;
  const reasons = Object.values(byReason).reduce((a, n) => a + n, 0);
  const rampIndexes = new Set(f.executors.filter((e) => e.exec === 'reconnect').map((e) => e.index));
  const tagged = [...agg.counters].filter(([name]) => isDroppedOf(name, f.executors, rampIndexes));
  const dropped = tagged.length > 0 ? tagged.reduce((a, [, n]) => a + n, 0) : agg.counter('dropped_iterations');
  const intervalS = f.intervalMs / 1000;
  const spanS = f.firstReconnectMs >= 0 && f.lastDrainDoneMs > f.firstReconnectMs ? (f.lastDrainDoneMs - f.firstReconnectMs) / 1000 : 0;
  return {
    users: f.users, attempted, ok, failed, failed_by_reason: byReason, dropped, held,
    adds_up: failed === reasons && agg.counter('reconnects_failed') === failed && held <= ok,
    connects_per_s_avg: spanS > 0 ? round1(agg.counter('users_reconnected') / spanS) : null,
    connects_per_s_peak: round1(Math.max(0, ...f.timeline.map((r) => (r.counters.users_reconnected ?? 0) / intervalS))),
    connect_time_ms: quantiles(agg, 'connect_time'),
    drain_time_ms: quantiles(agg, 'drain_time'),
    hold: { start_s: startMs / 1000, end_s: endMs / 1000, intervals: hold.length },
    loadgen: sideCost({ start: f.loadgenRssStartBytes, connected: full?.loadgen_rss_bytes ?? null, held: last?.loadgen_rss_bytes ?? null },
      peak, avg(hold.map((r) => r.loadgen_cpu_percent ?? null)), held),
    gateways: systemSide(f, hold, full, peak, held, (name) => name.startsWith('gateway')),
    chat: systemSide(f, hold, full, peak, held, (name) => name.startsWith('chat')),
  };
}

/** The gauges thresholds can name (set once the report is made). */
export function connectionGauges(r: ConnectionReport): Record<string, number> {
  const g: Record<string, number> = {};
  const put = (name: string, v: number | null) => {
    if (v !== null) g[name] = v;
  };
  put('connects_per_s', r.connects_per_s_avg);
  put('loadgen_idle_cpu_percent_per_10k', r.loadgen.idle_cpu_percent_per_10k);
  put('loadgen_bytes_per_connection', r.loadgen.bytes_per_connection);
  put('gateway_idle_cpu_percent_per_10k', r.gateways.idle_cpu_percent_per_10k);
  put('gateway_bytes_per_connection', r.gateways.bytes_per_connection);
  return g;
}

function isDroppedOf(name: string, executors: readonly ResolvedExecutor[], indexes: Set<number>): boolean {
  for (const e of executors) if (indexes.has(e.index) && name === `dropped_iterations{scenario:${e.name}}`) return true;
  return false;
}

function systemSide(f: ConnectionFacts, hold: readonly IntervalRecord[], full: IntervalRecord | undefined, peak: number, held: number,
  pick: (name: string) => boolean): SideCost {
  const none = { start: null, connected: null, held: null };
  if (!f.system || hold.length === 0 || !hold.every((r) => r.system_cpu_s && r.system_rss_bytes)) return sideCost(none, peak, null, held);
  const names = Object.keys(f.system).filter(pick);
  const rssAt = (r: IntervalRecord | undefined) => (r?.system_rss_bytes ? sumOf(names.map((n) => r.system_rss_bytes![n] ?? null)) : null);
  const rss = { start: sumOf(names.map((n) => f.system![n]!.rss_connected_bytes ?? null)), connected: rssAt(full), held: rssAt(hold[hold.length - 1]) };
  const cpu = avg(hold.map((r) => (names.reduce((a, n) => a + (r.system_cpu_s![n] ?? 0), 0) * 100000) / f.intervalMs));
  return sideCost(rss, peak, cpu, held);
}

function sideCost(rss: { start: number | null; connected: number | null; held: number | null }, peak: number, cpuPercent: number | null,
  held: number): SideCost {
  return {
    rss_start_bytes: rss.start, rss_connected_bytes: rss.connected, rss_held_bytes: rss.held,
    bytes_per_connection: rss.start !== null && rss.connected !== null && peak > 0 ? Math.round((rss.connected - rss.start) / peak) : null,
    idle_cpu_percent: cpuPercent === null ? null : round1(cpuPercent),
    idle_cpu_percent_per_10k: cpuPercent === null || held === 0 ? null : Math.round((cpuPercent * CONNECTIONS_PER_QUOTE * 100) / held) / 100,
  };
}

function quantiles(agg: MetricsAggregate, trend: string): { p50: number; p99: number; max: number } | null {
  const h = agg.trends.get(trend);
  if (!h || h.count === 0) return null;
  return { p50: round1(h.percentileMs(50)), p99: round1(h.percentileMs(99)), max: round1(h.h.maxValue / 1000) };
}

function avg(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, x) => a + x, 0) / v.length : null;
}

function sumOf(xs: (number | null)[]): number | null {
  return xs.length > 0 && xs.every((x) => x !== null) ? xs.reduce((a: number, x) => a + x!, 0) : null;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
