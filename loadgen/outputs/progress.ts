// The live progress line: elapsed, scheduled vs achieved rate, p99 so far,
// integrity and errors, the generator's CPU. On a terminal it rewrites one
// line each interval; otherwise (CI logs) it prints a line every few seconds.
import type { LiveStatus, Output } from '../engine/output';
import { scheduledRate } from '../engine/schedule';
import { fmtMs } from './summary-text';

const NON_TTY_EVERY_MS = 5000;

export function progressLine(live: LiveStatus): string {
  const { agg, last, plan } = live;
  const secs = live.intervalMs / 1000;
  const t = live.elapsedMs;
  const rates = plan.executors
    .map((e) => ({ e, r: scheduledRate(e, t - live.intervalMs / 2) }))
    .filter((x) => x.r !== null && x.r > 0)
    .map((x) => `${x.e.name} ${Math.round(x.r!)}/s`);
  const sent = (last.counters.messages_sent ?? 0) / secs;
  const delivered = (last.counters.messages_delivered ?? 0) / secs;
  const p99 = last.trends.delivery_latency?.p99;
  const p99all = agg.trends.get('delivery_latency');
  const parts = [
    `running (${(t / 1000).toFixed(0)}s/${(plan.windowMs / 1000).toFixed(0)}s)`,
    rates.length ? `scheduled ${rates.join(' + ')}` : '',
    `sent ${Math.round(sent)}/s delivered ${Math.round(delivered)}/s`,
    p99 !== undefined ? `p99 ${fmtMs(p99)} (run ${fmtMs(p99all && p99all.count ? p99all.percentileMs(99) : 0)})` : '',
    `vus ${last.gauges.vus ?? 0}/${last.gauges.vus_max ?? 0}`,
    `conns ${last.gauges.connections ?? 0}`,
    `lost ${agg.counter('delivery_lost')} dup ${agg.counter('delivery_duplicated')} dropped ${agg.counter('dropped_iterations')} errors ${agg.counter('errors')}`,
    last.loadgen_cpu_percent !== undefined ? `cpu ${last.loadgen_cpu_percent.toFixed(0)}%` : '',
  ];
  return parts.filter(Boolean).join(' | ');
}

export function progressOutput(stream: NodeJS.WriteStream = process.stderr): Output {
  let lastPrinted = -Infinity;
  let drewLine = false;
  return {
    name: 'progress',
    interval(live) {
      const line = progressLine(live);
      if (stream.isTTY) {
        stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 200) - 1)}`);
        drewLine = true;
      } else if (live.elapsedMs - lastPrinted >= NON_TTY_EVERY_MS) {
        lastPrinted = live.elapsedMs;
        stream.write(`${line}\n`);
      }
    },
    close() {
      if (drewLine) stream.write('\n');
    },
  };
}
