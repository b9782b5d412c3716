// Adapter (d): capacity-probe.json, written by `node dist/tools/capacity-model/probe.js`
// (gateway memory per connection, reconnect accept rate, Redis ops/s on this machine).
import { emptyMeasurements, type Measurements } from '../measured';

export const PROBE_KIND = 'capacity-probe';

export interface ProbeReport {
  kind: typeof PROBE_KIND;
  run_id: string;
  machine: { hostname: string; cpus: number; node: string };
  command: string;
  connections: {
    count: number;
    gateway_rss_bytes_before: number;
    gateway_rss_bytes_after: number;
    rss_bytes_per_connection?: number;
    /** Kernel socket memory per connection (null when /proc/slabinfo was unreadable). */
    kernel_bytes_per_connection?: number | null;
    bytes_per_connection: number;
    connections_per_gib: number;
  };
  reconnect: {
    count: number;
    duration_ms: number;
    accept_per_s: number;
    concurrency: number;
  };
  redis: { ops_per_s: number; command: string; detail: string } | null;
  notes: string[];
}

export function looksLikeProbe(json: Record<string, unknown>): boolean {
  return json.kind === PROBE_KIND;
}

export function fromProbe(json: Record<string, unknown>, source: string): Measurements {
  const probe = json as unknown as ProbeReport;
  const out = emptyMeasurements();
  out.sources.push(source);
  out.machine = probe.machine;
  const c = probe.connections;
  if (c && c.connections_per_gib > 0) {
    out.figures.connections_per_gib = {
      value: c.connections_per_gib, basis: 'measured', source,
      note: `${c.count} idle connections: ${Math.round(c.rss_bytes_per_connection ?? c.bytes_per_connection)} B each of gateway RSS` +
        (typeof c.kernel_bytes_per_connection === 'number' ? ` + ${Math.round(c.kernel_bytes_per_connection)} B of kernel socket memory` : ' (kernel memory not counted)'),
    };
  }
  const r = probe.reconnect;
  if (r && r.accept_per_s > 0) {
    out.figures.reconnect_accept_per_s = {
      value: r.accept_per_s, basis: 'measured', source,
      note: `${r.count} clients reconnected at once (${r.concurrency} in flight) in ${r.duration_ms.toFixed(0)} ms; ` +
        'the load generator shared the machine, so a lower bound',
    };
  }
  if (probe.redis && probe.redis.ops_per_s > 0) {
    out.figures.redis_ops_per_s = {
      value: probe.redis.ops_per_s, basis: 'measured', source,
      note: `${probe.redis.command}: ${probe.redis.detail}`,
    };
  }
  out.notes.push(...(probe.notes ?? []).map((n) => `${source}: ${n}`));
  return out;
}
