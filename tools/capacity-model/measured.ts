// What one node was measured to carry: the small, explicit input the fleet
// projection reads. Adapters (./adapters/) extract it from results/ runs; the
// user may add a clearly labelled assumption (--assume name=value) for a figure
// nobody has measured yet. A figure that is absent is "not measured": the
// projection says so and never fills it in.

export const MEASURED_FIELDS = {
  gateway_msgs_per_s_at_p99: {
    unit: 'msgs/s',
    what: '1:1 messages/s one gateway carried in and out (with acks and receipts) at p99 delivery below the target, none lost',
  },
  chat_msgs_per_s_at_p99: {
    unit: 'msgs/s',
    what: '1:1 messages/s one chat-service node ordered, persisted and routed at that same point',
  },
  store_writes_per_s: {
    unit: 'writes/s',
    what: 'rows/s one store node persisted at that point (the engine is named in the note)',
  },
  gateway_cpu_us_per_msg: {
    unit: 'us/msg',
    what: 'gateway CPU per delivered message over the run (for the CPU-bound extrapolation)',
  },
  chat_cpu_us_per_msg: {
    unit: 'us/msg',
    what: 'chat-service CPU per delivered message over a run with one chat node (for the CPU-bound extrapolation, divided by chat_coordination_ratio)',
  },
  store_cpu_us_per_msg: {
    unit: 'us/msg',
    what: 'store (Cassandra JVM) CPU per message one replica spends in a chat node\'s tick, RF 1 (bench/scylla-store.ts --json): the ScyllaDB tier\'s CPU-bound writes row',
  },
  connections_per_gib: {
    unit: 'conns/GiB',
    what: 'idle authenticated connections one GiB of gateway memory (RSS growth) holds',
  },
  reconnect_accept_per_s: {
    unit: 'conns/s',
    what: 'connections/s one gateway re-accepted (upgrade, token check, presence) when all clients reconnected at once',
  },
  redis_ops_per_s: {
    unit: 'ops/s',
    what: 'operations/s one Redis node served',
  },
  chat_coordination_ratio: {
    unit: 'x',
    what: 'chat-tier CPU per acknowledged message on 1 chat node / on N chat nodes, same load (bench/coordination.ts --json); 1 = no coordination cost',
  },
  chat_failover_s_p50: {
    unit: 's',
    what: 'kill -9 of a chat node -> every partition served again, median over the kills (bench/failover.ts --json); quoted, not used',
  },
  chat_failover_s_max: {
    unit: 's',
    what: 'the same, the slowest kill: what the failure what-if uses (bench/failover.ts --json)',
  },
  process_scaling_sigma: {
    unit: 'share',
    what: 'USL contention between processes of one box, from gateway CPU per message on 1, 2, 4 processes (bench/process-scaling.ts --json); replaces core_scaling_sigma',
  },
  process_scaling_kappa: {
    unit: 'share',
    what: 'USL coherency between processes of one box, from the same bench; replaces core_scaling_kappa',
  },
  media_upload_bytes_per_core_s: {
    unit: 'B/s per core',
    what: 'media upload bytes/s one gateway core carried (HTTP chunks, hash check, blob store write; bench/media-http.ts --json)',
  },
  media_download_bytes_per_core_s: {
    unit: 'B/s per core',
    what: 'media download bytes/s one gateway core carried (membership check, blob store read, socket writes; bench/media-http.ts --json)',
  },
  e2e_overhead_bytes_per_message: {
    unit: 'B',
    what: 'stored body minus plaintext of a 1:1 message to one device on an established session (bench/e2ee.ts --json); replaces the fleet model\'s assumption in bandwidth and storage',
  },
  store_prekey_takes_per_s: {
    unit: 'takes/s',
    what: 'one-time prekeys one store node handed out per second, each exactly once (an LWT on ScyllaDB/Cassandra; bench/e2ee.ts --cassandra --json)',
  },
  reaccept_via_lb_ratio: {
    unit: 'x',
    what: 'WebSocket re-accepts/s through the load balancer (HAProxy) / straight to the gateways (bench/reaccept.ts --json)',
  },
} as const;

export type MeasuredField = keyof typeof MEASURED_FIELDS;
export const MEASURED_FIELD_NAMES = Object.keys(MEASURED_FIELDS) as MeasuredField[];

/**
 * How far to trust a figure:
 *   sustained  - held the latency target at this rate; the node may carry more (a lower bound)
 *   breakpoint - the highest rate that held, with a higher rate in the same run that broke (capacity is bracketed)
 *   measured   - measured directly (memory, accept rate, a ratio or a time of a bench), no latency target involved
 *   assumed    - given by the user with --assume, not measured
 */
export type FigureBasis = 'sustained' | 'breakpoint' | 'measured' | 'assumed';

export interface MeasuredFigure {
  value: number;
  basis: FigureBasis;
  /** The run file it came from, or "--assume". */
  source: string;
  note?: string;
  /** For store figures: the engine measured ("embedded-sqlite", "scylla", "cassandra"). */
  engine?: string;
}

export interface Machine {
  hostname?: string;
  cpus?: number;
  node?: string;
}

/** A throughput-vs-concurrency point of a ramp, for the USL fit. */
export interface UslPoint {
  concurrency: number;
  throughput_per_s: number;
  source: string;
  /** How `concurrency` was obtained ("little" = throughput * mean latency; "vus" = closed-model users). */
  concurrency_from: 'little' | 'vus' | 'given';
}

export interface Measurements {
  figures: Partial<Record<MeasuredField, MeasuredFigure>>;
  machine?: Machine;
  usl_points: UslPoint[];
  sources: string[];
  notes: string[];
}

export function emptyMeasurements(): Measurements {
  return { figures: {}, usl_points: [], sources: [], notes: [] };
}

export function isMeasuredField(name: string): name is MeasuredField {
  return Object.prototype.hasOwnProperty.call(MEASURED_FIELDS, name);
}

/**
 * Merge in the order given: a later source replaces an earlier one only for the figures it has.
 * USL points accumulate only from the last source that has any (points of different runs do not mix).
 */
export function mergeMeasurements(parts: readonly Measurements[]): Measurements {
  const out = emptyMeasurements();
  for (const part of parts) {
    Object.assign(out.figures, part.figures);
    if (part.machine) out.machine = { ...out.machine, ...part.machine };
    if (part.usl_points.length > 0) out.usl_points = [...part.usl_points];
    out.sources.push(...part.sources);
    out.notes.push(...part.notes);
  }
  return out;
}

/** `--assume name=value`: a figure nobody measured, labelled as an assumption everywhere it is used. */
export function parseAssumptions(assignments: readonly string[]): Measurements {
  const out = emptyMeasurements();
  for (const assignment of assignments) {
    const m = /^([a-z0-9_]+)=(.+)$/.exec(assignment.trim());
    if (!m) throw new Error(`--assume ${assignment}: expected name=value`);
    const [, name, raw] = m;
    if (!isMeasuredField(name!)) {
      throw new Error(`--assume ${assignment}: unknown figure "${name}"; known: ${MEASURED_FIELD_NAMES.join(', ')}`);
    }
    const value = Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--assume ${assignment}: must be a positive number`);
    out.figures[name!] = { value, basis: 'assumed', source: '--assume', note: 'assumption given on the command line, not measured' };
  }
  if (assignments.length > 0) out.sources.push('--assume');
  return out;
}
