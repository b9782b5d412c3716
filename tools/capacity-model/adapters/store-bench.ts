// Adapter: the `--json` of bench/scylla-store.ts (the ScyllaDB store's write
// path on a local Apache Cassandra 5 node). Gives store_cpu_us_per_msg: the
// Cassandra JVM's CPU per message of a chat node's tick (`store tick`: the
// duplicate lookup, the commit of the messages and their rows, the watermark
// flush), at the largest batch measured. Only from a run where the bench
// started its own single node with replication factor 1: then the JVM's CPU is
// one replica's work per message. Anything else gives a note, no figure.
import { emptyMeasurements, type Measurements } from '../measured';

interface StoreVariant {
  variant: string;
  batch: number;
  messages: number;
  msgsPerSecond: number;
  cassandraCpuUsPerMsg: number;
  loadavg1: number;
}

const TICK = 'store tick';

export function looksLikeStoreBench(json: Record<string, unknown>): boolean {
  return typeof json.contactPoint === 'string' && Array.isArray(json.results) && typeof json.defaults === 'object';
}

export function fromStoreBench(json: Record<string, unknown>, source: string): Measurements {
  const out = emptyMeasurements();
  out.sources.push(source);
  const results = json.results as StoreVariant[];
  for (const [i, r] of results.entries()) {
    if (typeof r !== 'object' || r === null || typeof r.variant !== 'string' || !(r.batch > 0) || !(r.messages > 0) || !(r.cassandraCpuUsPerMsg >= 0)) {
      throw new Error(`${source}: results[${i}] is not a store bench result (variant, batch, messages, cassandraCpuUsPerMsg)`);
    }
  }
  if (json.replication_factor === undefined || json.own_node === undefined) {
    out.notes.push(`${source}: written before the store bench recorded its replication factor and node: no store CPU figure taken from it`);
    return out;
  }
  if (json.replication_factor !== 1 || json.own_node !== true) {
    out.notes.push(`${source}: a run on a node the bench did not start, or at RF ${String(json.replication_factor)}: the JVM's CPU is not one replica's; no store CPU figure`);
    return out;
  }
  const ticks = results.filter((r) => r.variant === TICK && r.cassandraCpuUsPerMsg > 0);
  if (ticks.length === 0) {
    out.notes.push(`${source}: no '${TICK}' variant with Cassandra CPU in it (run with --variants store-tick): no store CPU figure`);
    return out;
  }
  const best = ticks.reduce((a, b) => (b.batch > a.batch ? b : a));
  const machine = json.machine as { cpus?: number; load_avg?: number[] } | undefined;
  out.figures.store_cpu_us_per_msg = {
    value: best.cassandraCpuUsPerMsg, basis: 'measured', source, engine: 'cassandra',
    note: `Apache Cassandra 5 JVM CPU per message of '${TICK}' at batch ${best.batch} (${Math.round(best.msgsPerSecond)} msg/s; ` +
      `all batches: ${ticks.map((t) => `${t.batch}: ${t.cassandraCpuUsPerMsg.toFixed(0)} us`).join(', ')}), one node, RF 1, ` +
      `${machine?.cpus ?? '?'} cores shared with the bench at load ${best.loadavg1.toFixed(1)}. ScyllaDB spends less CPU per write than Cassandra: an upper bound`,
  };
  return out;
}
