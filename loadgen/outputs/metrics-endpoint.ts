// The load generator's /metrics for Prometheus (prom-client), on loopback
// while the run lasts, registered for file service discovery (job
// wa-loadgen) when WA_PROM_SD_DIR is set, like the system's processes.
//
// Names follow Prometheus conventions and are what dashboards/ and
// prometheus/rules/ query (the k6 names stay in the summary and thresholds):
//   trend   delivery_latency  -> wa_loadgen_delivery_latency_seconds   histogram
//   counter messages_sent     -> wa_loadgen_messages_sent_total        counter
//   counter data_sent (bytes) -> wa_loadgen_data_sent_bytes_total      counter
//   rate    send_success      -> wa_loadgen_send_success_ratio         gauge (share so far)
//   gauges  vus, vus_max, connections -> wa_loadgen_vus, wa_loadgen_allocated_vus, wa_loadgen_connections
// plus what only the coordinator knows: wa_loadgen_messages_scheduled_total and
// wa_loadgen_target_rate (from the executors' schedule), wa_loadgen_elapsed_seconds,
// wa_loadgen_busiest_thread_cpu_ratio, and prom-client's process metrics.
// Labels: `scenario` (the scenario's name) everywhere, `executor` on the target
// rate: both fixed before the run, so no series appears at runtime.
//
// Histograms are fed once per interval from the workers' HDR interval
// histograms (one decode, one pass over the recorded ranges): nothing is
// observed per message here. Each process exports its own share of a sharded
// run (--procs, --shard); sum() over instances is the whole run.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { COUNTER_NAMES, GAUGE_NAMES, METRICS, RATE_NAMES, TREND_NAMES, type GaugeName } from '../model/metric-catalog';
import { LatencyHistogram } from '../metrics/latency';
import type { MetricsAggregate } from '../metrics/aggregate';
import { isArrivalRate, messagesScheduled, scheduledRate } from '../engine/schedule';
import type { Segment } from '../model/segments';
import type { RunPlan } from '../model/plan';
import { CallbackMetric, createProcessMetrics, DELIVERY_BUCKETS_SECONDS, type ProcessMetrics } from '../../server/metrics/registry';
import { FastHistogram, type HistogramSeries } from '../../server/metrics/fast-histogram';
import { registerFileSdTarget, type FileSdTarget } from '../../server/metrics/file-sd';
import type { LiveStatus, Output } from '../engine/output';

/** The server's delivery buckets (fine around 100 ms, le="0.1" exists) plus room for drains and reconnects. */
export const LOADGEN_LATENCY_BUCKETS_SECONDS = [...DELIVERY_BUCKETS_SECONDS, 30, 60] as const;
const PREFIX = 'wa_loadgen_';
/** The catalog's gauges under Prometheus names; the process CPU gauge is process_cpu_seconds_total there. */
const GAUGE_EXPORTS: Partial<Record<GaugeName, string>> = { vus: 'vus', vus_max: 'allocated_vus', connections: 'connections' };

/** The exposition name of a catalog metric (null: not exported under its own name). */
export function promNameOf(metric: string): string | null {
  const info = (METRICS as Record<string, { type: string; unit: string }>)[metric];
  if (!info) return null;
  switch (info.type) {
    case 'trend': return `${PREFIX}${metric}_seconds`;
    case 'counter': return `${PREFIX}${metric}${info.unit === 'bytes' ? '_bytes' : ''}_total`;
    case 'rate': return `${PREFIX}${metric}_ratio`;
    default: {
      const g = GAUGE_EXPORTS[metric as GaugeName];
      return g ? `${PREFIX}${g}` : null;
    }
  }
}

/** Families only the coordinator computes (not catalog metrics). */
const EXTRA_FAMILIES = ['messages_scheduled_total', 'target_rate', 'elapsed_seconds', 'busiest_thread_cpu_ratio'].map((n) => `${PREFIX}${n}`);

/** Every wa_loadgen_* family /metrics serves (histograms by base name), for checks that run without a run. */
export function loadgenFamilyNames(): string[] {
  return [...Object.keys(METRICS).map(promNameOf).filter((n): n is string => n !== null), ...EXTRA_FAMILIES];
}

export interface MetricsEndpoint extends Output {
  /** Port actually bound (after start). */
  port(): number;
}

export function metricsEndpointOutput(port: number, log: (line: string) => void): MetricsEndpoint {
  let metrics: ProcessMetrics | null = null;
  let server: Server | null = null;
  let sd: FileSdTarget | null = null;
  let bound = 0;
  let agg: MetricsAggregate | null = null;
  let plan: RunPlan | null = null;
  /** This process's share of the schedule (a shard runs 1/N of every executor's iterations, those of its segments). */
  let share = 1;
  let segments: readonly Segment[] | undefined;
  const live = { elapsedS: 0, scheduled: 0, busiest: 0, targetRates: new Map<string, number>() };
  const trendSeries = new Map<string, HistogramSeries>();

  /** Declare every family and series for this run's scenario. */
  function declare(p: RunPlan): ProcessMetrics {
    const m = createProcessMetrics();
    const registry = m.registry;
    const labels = { scenario: p.scenario };
    const one = (v: () => number) => () => [[labels, v()] as const];
    for (const name of TREND_NAMES) {
      const h = new FastHistogram({
        name: promNameOf(name)!, help: `${METRICS[name].description} (seconds)`, buckets: LOADGEN_LATENCY_BUCKETS_SECONDS,
        label: { name: 'scenario', values: [p.scenario] }, registry,
      });
      trendSeries.set(name, h.child(p.scenario));
    }
    for (const name of COUNTER_NAMES) {
      new CallbackMetric({ name: promNameOf(name)!, help: METRICS[name].description, type: 'counter', registry, read: one(() => agg?.counter(name) ?? 0) });
    }
    for (const name of RATE_NAMES) {
      new CallbackMetric({
        name: promNameOf(name)!, help: `${METRICS[name].description}: share of checks so far`, type: 'gauge', registry,
        read: one(() => (agg?.rates.has(name) ? agg.value(name, 'rate') : 0)),
      });
    }
    for (const name of GAUGE_NAMES) {
      const exported = promNameOf(name);
      if (exported) new CallbackMetric({ name: exported, help: METRICS[name].description, type: 'gauge', registry, read: one(() => agg?.gauges.get(name)?.value ?? 0) });
    }
    new CallbackMetric({
      name: EXTRA_FAMILIES[0]!, type: 'counter', registry, read: one(() => live.scheduled),
      help: 'Messages the open-model (arrival-rate) executors had scheduled by now: sent / scheduled below 1 means the rate was not kept',
    });
    const arrival = p.executors.filter(isArrivalRate);
    new CallbackMetric({
      name: EXTRA_FAMILIES[1]!, type: 'gauge', registry,
      help: 'Iterations per second each arrival-rate executor is scheduled for now (this process\'s share)',
      read: () => arrival.map((e) => [{ ...labels, executor: e.name }, live.targetRates.get(e.name) ?? 0] as const),
    });
    new CallbackMetric({ name: EXTRA_FAMILIES[2]!, type: 'gauge', registry, read: one(() => live.elapsedS), help: 'Time into the measured window' });
    new CallbackMetric({
      name: EXTRA_FAMILIES[3]!, type: 'gauge', registry, read: one(() => live.busiest),
      help: 'CPU of the busiest worker thread in the last interval, share of one core: near 1 the generator may be the bottleneck',
    });
    return m;
  }

  /** Add one interval's HDR histogram (µs) into a Prometheus series (seconds). */
  function addInterval(series: HistogramSeries, encoded: string): void {
    const bounds = series.bounds;
    LatencyHistogram.decode(encoded).forEachRecorded((us, n) => {
      const s = us / 1e6;
      let i = 0;
      while (i < bounds.length && s > bounds[i]!) i++;
      series.counts[i]! += n;
      series.sum += s * n;
      series.count += n;
    });
  }

  return {
    name: 'metrics-endpoint',
    port: () => bound,
    async start(ctx) {
      plan = ctx.plan;
      share = 1 / (ctx.shard?.count ?? 1);
      segments = ctx.segments;
      metrics = declare(ctx.plan);
      const registry = metrics.registry;
      server = createServer((req, res) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end('see /metrics\n');
          return;
        }
        registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), (err: Error) => res.writeHead(500).end(err.message));
      });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(port, '127.0.0.1', () => resolve());
      });
      bound = (server.address() as AddressInfo).port;
      sd = registerFileSdTarget('wa-loadgen', bound);
      log(`metrics: http://127.0.0.1:${bound}/metrics${sd.file ? ` (Prometheus file_sd: ${sd.file})` : ''}`);
    },
    interval(l: LiveStatus) {
      agg = l.agg;
      live.elapsedS = l.elapsedMs / 1000;
      live.busiest = (l.last.busiest_thread_cpu_percent ?? 0) / 100;
      if (plan) {
        live.scheduled = messagesScheduled(plan, l.elapsedMs, segments);
        for (const e of plan.executors) if (isArrivalRate(e)) live.targetRates.set(e.name, (scheduledRate(e, l.elapsedMs) ?? 0) * share);
      }
      for (const [name, series] of trendSeries) {
        const enc = l.last.histograms[name];
        if (enc) addInterval(series, enc);
      }
    },
    async close() {
      // Out of discovery first, so Prometheus stops asking before the port closes.
      sd?.remove();
      sd = null;
      metrics?.close();
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      server = null;
    },
  };
}
