// Where a worker thread records its samples, and the snapshot it ships to the
// coordinator once per interval. Samples go into *interval* recorders that
// are encoded and reset at each snapshot: one recordValue per sample, no
// second cumulative copy in the worker. The coordinator adds intervals up
// (HDR add is exact), so merging threads, intervals and shards loses nothing.
//
// Per sample: one HDR recordValue (~55 ns, JS build) or one number add.
// Per interval (1 s): one compressed encoding per non-empty trend (~0.1 ms).
import { LatencyHistogram } from './latency';
import { COUNTER_NAMES, GAUGE_NAMES, RATE_NAMES, TREND_NAMES, splitMetricName, type CounterName, type GaugeName, type RateName, type TrendName } from '../model/metric-catalog';

/** What a worker sends per interval (and what summary.json keeps per interval). */
export interface MetricsSnapshot {
  /** name (maybe tagged) -> HDR histogram of this interval, compressed base64 (microseconds). */
  trends: Record<string, string>;
  counters: Record<string, number>;
  /** name -> [true samples, all samples]. */
  rates: Record<string, [number, number]>;
  /** name -> current value (summed across workers by the coordinator). */
  gauges: Record<string, number>;
}

export function emptySnapshot(): MetricsSnapshot {
  return { trends: {}, counters: {}, rates: {}, gauges: {} };
}

export class TrendRecorder {
  readonly hist = new LatencyHistogram();
  /** Per-scenario children (index = scenario index) for tagged sub-metrics thresholds ask for. */
  children: (TrendRecorder | undefined)[] = [];
  constructor(readonly name: string) {}
  record(ms: number, scenario = -1): void {
    this.hist.recordMs(ms);
    if (scenario >= 0) {
      const c = this.children[scenario];
      if (c !== undefined) c.hist.recordMs(ms);
    }
  }
}

export class CounterRecorder {
  value = 0;
  children: (CounterRecorder | undefined)[] = [];
  constructor(readonly name: string) {}
  add(n: number, scenario = -1): void {
    this.value += n;
    if (scenario >= 0) {
      const c = this.children[scenario];
      if (c !== undefined) c.value += n;
    }
  }
}

export class RateRecorder {
  hits = 0;
  total = 0;
  children: (RateRecorder | undefined)[] = [];
  constructor(readonly name: string) {}
  add(ok: boolean, scenario = -1, n = 1): void {
    if (ok) this.hits += n;
    this.total += n;
    if (scenario >= 0) {
      const c = this.children[scenario];
      if (c !== undefined) c.add(ok, -1, n);
    }
  }
}

export class GaugeRecorder {
  value = 0;
  constructor(readonly name: string) {}
  set(v: number): void {
    this.value = v;
  }
}

/** A worker's recorders, one field per built-in metric. */
export class MetricsRegistry {
  readonly trend = {} as Record<TrendName, TrendRecorder>;
  readonly counter = {} as Record<CounterName, CounterRecorder>;
  readonly rate = {} as Record<RateName, RateRecorder>;
  readonly gauge = {} as Record<GaugeName, GaugeRecorder>;
  private readonly all: { name: string; rec: TrendRecorder | CounterRecorder | RateRecorder }[] = [];
  /** Counters broken down by a label whose values are only known at run time ("sends_failed{reason:QUEUE_FULL}"). */
  private readonly labelled = new Map<string, number>();

  /**
   * @param scenarioNames index -> scenario name (the `s` passed to record()).
   * @param tagged full names like "delivery_latency{scenario:chat}" that thresholds use.
   */
  constructor(scenarioNames: readonly string[] = [], tagged: Iterable<string> = []) {
    for (const n of TREND_NAMES) this.add(n, (this.trend[n] = new TrendRecorder(n)));
    for (const n of COUNTER_NAMES) this.add(n, (this.counter[n] = new CounterRecorder(n)));
    for (const n of RATE_NAMES) this.add(n, (this.rate[n] = new RateRecorder(n)));
    for (const n of GAUGE_NAMES) this.gauge[n] = new GaugeRecorder(n);
    for (const full of tagged) {
      const { base, tags } = splitMetricName(full);
      const s = scenarioNames.indexOf(tags.scenario ?? '');
      if (s < 0 || Object.keys(tags).length !== 1) continue; // validated earlier; only {scenario:x} is recorded
      const parent = this.all.find((e) => e.name === base)?.rec;
      if (parent instanceof TrendRecorder) this.add(full, (parent.children[s] = new TrendRecorder(full)));
      else if (parent instanceof CounterRecorder) this.add(full, (parent.children[s] = new CounterRecorder(full)));
      else if (parent instanceof RateRecorder) this.add(full, (parent.children[s] = new RateRecorder(full)));
    }
  }

  private add(name: string, rec: TrendRecorder | CounterRecorder | RateRecorder): void {
    this.all.push({ name, rec });
  }

  /** Add n to counter `base` broken down by `label`: value (the base counter is counted apart). */
  addLabelled(base: CounterName, label: string, value: string, n = 1): void {
    const name = `${base}{${label}:${value}}`;
    this.labelled.set(name, (this.labelled.get(name) ?? 0) + n);
  }

  /** Everything recorded since the last call; interval recorders start over. Gauges are current values. */
  takeSnapshot(): MetricsSnapshot {
    const snap = emptySnapshot();
    for (const { name, rec } of this.all) {
      if (rec instanceof TrendRecorder) {
        if (rec.hist.count > 0) {
          snap.trends[name] = rec.hist.encode();
          rec.hist.reset();
        }
      } else if (rec instanceof CounterRecorder) {
        if (rec.value !== 0) snap.counters[name] = rec.value;
        rec.value = 0;
      } else {
        if (rec.total !== 0) snap.rates[name] = [rec.hits, rec.total];
        rec.hits = 0;
        rec.total = 0;
      }
    }
    for (const [name, n] of this.labelled) snap.counters[name] = n;
    this.labelled.clear();
    for (const n of GAUGE_NAMES) snap.gauges[n] = this.gauge[n].value;
    return snap;
  }
}
