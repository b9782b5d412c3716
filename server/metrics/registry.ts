// The metrics of one process: a prom-client Registry with the default process
// metrics (CPU, memory, fds, GC, event-loop lag), plus the two kinds of metric
// the hot path can afford:
//   - FastHistogram (./fast-histogram.ts): one cheap observation;
//   - CallbackMetric (below): counters and gauges that already live as plain
//     numbers in the process's stats objects, read only when scraped: zero
//     cost per message.
//
// Naming (checked by test/metrics-naming.test.ts): `wa_<tier>_<what>_<unit>`,
// base units (`_seconds`, `_bytes`), `_total` on counters only, label values
// from small fixed sets (never a user, chat, connection or message id).
//
// WA_METRICS=0 switches the hot-path observations and the default collectors
// off (for measuring their cost); /metrics still answers with the counters.
// WA_METRICS_DEFAULTS=0 drops only the default collectors (same purpose);
// WA_METRICS_GC=1 adds prom-client's GC collector, left out by default (costly, see collectDefaults).
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { metricsSettings, type MetricsSettings } from '../common/config';
import { FastHistogram } from './fast-histogram';

/** Server-side delivery latency: fine around the 100 ms target (0.05 / 0.075 / 0.1 / 0.15), le="0.1" exists for SLO ratios. */
export const DELIVERY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10] as const;
/** Internal steps (a gRPC hop, a store call, a tick): tens of microseconds to a second. */
export const STEP_BUCKETS_SECONDS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] as const;
/** Batch sizes (items per gRPC message, events per tick, messages per commit): powers of two up to the largest batch. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096] as const;
/** Event-loop delay samples. */
export const LOOP_DELAY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;

const LOOP_SAMPLE_INTERVAL_MS = 100;
/** prom-client's event-loop monitor (nodejs_eventloop_lag_*): its default 10 ms timer costs measurably on the full path (see collectDefaults). */
const LOOP_MONITOR_RESOLUTION_MS = 100;

export interface ProcessMetrics {
  registry: Registry;
  enabled: boolean;
  /** Stop timers (the event-loop sampler). */
  close(): void;
}

/** A registry for one process, with the default metrics and the event-loop delay histogram. */
export function createProcessMetrics(settings: MetricsSettings = metricsSettings()): ProcessMetrics {
  const registry = new Registry();
  const enabled = settings.enabled;
  let timer: NodeJS.Timeout | null = null;
  // The histogram is registered either way so the set of names does not depend on the switch.
  const loop = new FastHistogram({
    name: 'wa_event_loop_delay_seconds',
    help: `How late a ${LOOP_SAMPLE_INTERVAL_MS} ms timer fires: time the event loop was blocked (sampled ${1000 / LOOP_SAMPLE_INTERVAL_MS}/s)`,
    buckets: LOOP_DELAY_BUCKETS_SECONDS,
    registry,
  });
  if (enabled) {
    // WA_METRICS_DEFAULTS=0: without prom-client's default collectors (to measure them apart).
    if (settings.defaults) collectDefaults(registry, settings.gc);
    let expected = performance.now() + LOOP_SAMPLE_INTERVAL_MS;
    timer = setInterval(() => {
      const now = performance.now();
      loop.observe(Math.max(0, now - expected) / 1000);
      expected = now + LOOP_SAMPLE_INTERVAL_MS;
    }, LOOP_SAMPLE_INTERVAL_MS);
    timer.unref();
  }
  return {
    registry, enabled,
    close: () => {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

/**
 * prom-client's default collectors, minus two continuous costs measured on the
 * full 1:1 path (bench/metrics-overhead.ts --concurrent, CPU per message, metrics on vs off):
 *   - the GC collector, a PerformanceObserver on every garbage collection
 *     (~0.2 ms of CPU per GC; +15-20 % CPU in an allocation-heavy loop): left out
 *     unless WA_METRICS_GC=1 (nodejs_gc_duration_seconds);
 *   - the event-loop monitor's 10 ms timer: run at LOOP_MONITOR_RESOLUTION_MS.
 * With both defaults the full path paid ~4-5 % more CPU per message; without
 * them the difference is within the measurement's noise (~1-2 %).
 */
const DEFAULT_COLLECTORS_WITHOUT_GC = [
  'processCpuTotal', 'processStartTime', 'osMemoryHeap', 'processOpenFileDescriptors', 'processMaxFileDescriptors',
  'eventLoopLag', 'processResources', 'processHandles', 'processRequests', 'heapSizeAndUsed', 'heapSpacesSizeAndUsed', 'version',
];

function collectDefaults(registry: Registry, withGc: boolean): void {
  const config = { register: registry, eventLoopMonitoringPrecision: LOOP_MONITOR_RESOLUTION_MS };
  if (withGc) {
    collectDefaultMetrics(config);
    return;
  }
  // prom-client 15 has no option to leave one collector out; its collectors are one module each
  // (lib/metrics/<name>.js, what collectDefaultMetrics itself calls). If that layout changes, take them all.
  let collectors: ((r: Registry, c: object) => void)[];
  try {
    collectors = DEFAULT_COLLECTORS_WITHOUT_GC
      .filter((name) => name !== 'processResources' || typeof (process as { getActiveResourcesInfo?: unknown }).getActiveResourcesInfo === 'function')
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      .map((name) => require(`prom-client/lib/metrics/${name}`) as (r: Registry, c: object) => void);
  } catch {
    collectDefaultMetrics(config);
    return;
  }
  for (const collect of collectors) collect(registry, config);
}

type Labels = Record<string, string>;

export interface CallbackMetricOptions {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  /** A number (no labels) or [labels, value] pairs; label values must come from a fixed set. */
  read: () => number | Iterable<readonly [Labels, number]>;
  registry: Registry;
}

/** A counter or gauge whose value is read from the process's own state at scrape time. */
export class CallbackMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly aggregator = 'sum' as const;
  private readonly read: CallbackMetricOptions['read'];

  constructor(opts: CallbackMetricOptions) {
    if (opts.type === 'counter' && !opts.name.endsWith('_total')) throw new Error(`${opts.name}: counters end in _total`);
    if (opts.type === 'gauge' && opts.name.endsWith('_total')) throw new Error(`${opts.name}: _total is for counters`);
    this.name = opts.name;
    this.help = opts.help;
    this.type = opts.type;
    this.read = opts.read;
    opts.registry.registerMetric(this as unknown as Metric<string>);
  }

  reset(): void {
    // Values belong to the process's state; nothing to reset here.
  }

  get(): { name: string; help: string; type: 'counter' | 'gauge'; aggregator: 'sum'; values: { labels: Labels; value: number }[] } {
    const r = this.read();
    const values = typeof r === 'number' ? [{ labels: {}, value: r }] : [...r].map(([labels, value]) => ({ labels, value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

/** [labels, value] pairs for every key of `known` (zero when absent) and any other key present in `counts`. */
export function labelled(label: string, known: readonly string[], counts: Readonly<Record<string, number>>): [Labels, number][] {
  const out: [Labels, number][] = known.map((k) => [{ [label]: k }, counts[k] ?? 0]);
  for (const [k, v] of Object.entries(counts)) if (!known.includes(k)) out.push([{ [label]: k }, v]);
  return out;
}
