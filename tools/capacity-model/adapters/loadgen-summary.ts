// Adapter (c): summary.json of the k6-style load generator
// (loadgen/engine/summary.ts RunSummary, version 1). From any scenario: the
// system processes' CPU per delivered message and the gateways' memory per
// connection (RSS once connected minus RSS before); from a breakpoint run also
// the capacity figure (./breakpoint.ts).
import { BYTES_PER_GIB } from '../units';
import { emptyMeasurements, type Measurements } from '../measured';
import { asBreakpointReport, breakpointFigures } from './breakpoint';

export const LOADGEN_SUMMARY_VERSION = 1;

interface ProcessUsageLike {
  cpu_s?: number;
  rss_idle_bytes?: number | null;
  rss_connected_bytes?: number | null;
}

export function looksLikeLoadgenSummary(json: Record<string, unknown>): boolean {
  return json.version === LOADGEN_SUMMARY_VERSION && typeof json.scenario === 'object' && json.scenario !== null && typeof json.metrics === 'object';
}

function counter(json: Record<string, unknown>, name: string): number | null {
  const m = (json.metrics as Record<string, { type?: string; values?: Record<string, number> }>)[name];
  return m?.type === 'counter' && typeof m.values?.count === 'number' ? m.values.count : null;
}

/**
 * A run on several gateways or chat nodes (a --topology run) measured the tier, not one node: its
 * rate and CPU per message are not per-node figures (the chat tier's coordination cost comes from
 * bench/coordination.ts instead), so they are left out, with a note.
 */
function dropTierFigures(system: Record<string, ProcessUsageLike>, source: string, out: Measurements): void {
  const drop = { gateway: ['gateway_msgs_per_s_at_p99', 'gateway_cpu_us_per_msg'], chat: ['chat_msgs_per_s_at_p99', 'chat_cpu_us_per_msg'] } as const;
  for (const prefix of ['gateway', 'chat'] as const) {
    const n = Object.keys(system).filter((name) => name.startsWith(prefix)).length;
    if (n <= 1) continue;
    for (const field of drop[prefix]) delete out.figures[field];
    out.notes.push(`${source}: ${n} ${prefix} processes: the run measured the tier, not one node; no per-node ${prefix} throughput or CPU per message from it`);
  }
}

export function fromLoadgenSummary(json: Record<string, unknown>, source: string): Measurements {
  const out = emptyMeasurements();
  out.sources.push(source);
  const scenario = json.scenario as { name?: string };
  const machine = json.machine as { hostname?: string; cpus?: number; node?: string } | undefined;
  if (machine) out.machine = { hostname: machine.hostname, cpus: machine.cpus, node: machine.node };
  // The store of the system the load generator started: the topology's Cassandra cluster (plan.store, since --store),
  // else SQLite (embedded, or one file shared by a topology's chat nodes); an external --target is unknown.
  const storeEngine = (json.plan as { store?: unknown } | undefined)?.store === 'cassandra' ? 'cassandra' : 'embedded-sqlite';
  const reports = json.reports as Record<string, unknown> | undefined;
  if (reports?.breakpoint) breakpointFigures(asBreakpointReport(reports.breakpoint, source), source, storeEngine, out);
  else out.notes.push(`${source}: scenario "${scenario.name ?? '?'}" has no breakpoint report: no throughput capacity from it`);

  const system = json.system as Record<string, ProcessUsageLike> | null | undefined;
  if (system) dropTierFigures(system, source, out);
  const delivered = counter(json, 'messages_delivered');
  if (system && delivered && delivered > 0) {
    for (const [prefix, field] of [['gateway', 'gateway_cpu_us_per_msg'], ['chat', 'chat_cpu_us_per_msg']] as const) {
      const procs = Object.entries(system).filter(([name]) => name.startsWith(prefix));
      const cpuS = procs.reduce((a, [, p]) => a + (p.cpu_s ?? 0), 0);
      if (procs.length !== 1 || !(cpuS > 0)) continue;
      out.figures[field] = {
        value: (cpuS * 1e6) / delivered, basis: 'measured', source,
        note: `one ${prefix} process, ${cpuS.toFixed(2)} CPU s over ${delivered} delivered messages`,
      };
    }
    const setup = json.setup as { connected?: number } | undefined;
    const gateways = Object.entries(system).filter(([name]) => name.startsWith('gateway'));
    const grown = gateways.reduce((a, [, p]) => a + ((p.rss_connected_bytes ?? 0) - (p.rss_idle_bytes ?? 0)), 0);
    const complete = gateways.length > 0 && gateways.every(([, p]) => typeof p.rss_connected_bytes === 'number' && typeof p.rss_idle_bytes === 'number');
    if (complete && setup?.connected && setup.connected > 0 && grown > 0) {
      out.figures.connections_per_gib = {
        value: BYTES_PER_GIB / (grown / setup.connected), basis: 'measured', source,
        note: `gateway RSS grew ${Math.round(grown / setup.connected)} B per connection over ${setup.connected} connections (kernel socket memory not counted)`,
      };
    }
  }
  return out;
}
