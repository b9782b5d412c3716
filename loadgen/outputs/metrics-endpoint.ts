// A Prometheus /metrics endpoint on loopback while the run lasts (prom-client).
// Counters are the run's totals, trends are exposed as quantile gauges of the
// cumulative HDR histograms (prom-client histograms cannot be fed from HDR
// without losing resolution), plus the generator's own CPU and VUs.
import { createServer, type Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import type { LiveStatus, Output } from './output';

const QUANTILES = [0.5, 0.9, 0.95, 0.99, 0.999];

export interface MetricsEndpoint extends Output {
  /** Port actually bound (after start). */
  port(): number;
}

export function metricsEndpointOutput(port: number, log: (line: string) => void): MetricsEndpoint {
  const registry = new Registry();
  const labels = ['scenario', 'run_id'];
  const trend = new Gauge({ name: 'loadgen_trend_ms', help: 'Latency trends of the run so far (ms), by quantile', labelNames: ['metric', 'quantile', ...labels], registers: [registry] });
  const counter = new Gauge({ name: 'loadgen_counter_total', help: 'Counters of the run so far', labelNames: ['metric', ...labels], registers: [registry] });
  const gauge = new Gauge({ name: 'loadgen_gauge', help: 'Gauges (vus, vus_max, connections, loadgen_cpu_percent)', labelNames: ['metric', ...labels], registers: [registry] });
  const rateG = new Gauge({ name: 'loadgen_rate_ratio', help: 'Rates (share of true samples) of the run so far', labelNames: ['metric', ...labels], registers: [registry] });
  const elapsed = new Gauge({ name: 'loadgen_elapsed_seconds', help: 'Time into the measured window', labelNames: labels, registers: [registry] });
  let server: Server | null = null;
  let bound = 0;
  let base: Record<string, string> = {};
  return {
    name: 'metrics-endpoint',
    port: () => bound,
    async start(ctx) {
      base = { scenario: ctx.plan.scenario, run_id: ctx.runId };
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
      log(`metrics: http://127.0.0.1:${bound}/metrics`);
    },
    interval(live: LiveStatus) {
      const { agg } = live;
      elapsed.set(base, live.elapsedMs / 1000);
      for (const [name, h] of agg.trends) {
        if (h.count === 0) continue;
        for (const q of QUANTILES) trend.set({ ...base, metric: name, quantile: String(q) }, h.percentileMs(q * 100));
      }
      for (const [name, n] of agg.counters) counter.set({ ...base, metric: name }, n);
      for (const [name, [hits, total]] of agg.rates) rateG.set({ ...base, metric: name }, total ? hits / total : 0);
      for (const [name, g] of agg.gauges) gauge.set({ ...base, metric: name }, g.value);
    },
    async close() {
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      server = null;
    },
  };
}
