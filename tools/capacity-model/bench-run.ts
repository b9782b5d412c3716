// The `--json <file>` format of the multi-node benches (bench/coordination.ts,
// bench/failover.ts, bench/reaccept.ts), of the peers bench (bench/peers.ts), the media bench (bench/media-http.ts) and the e2ee bench (bench/e2ee.ts): one small versioned object per run,
// written by bench/bench-json.ts and read by ./adapters/bench-runs.ts. The
// shape lives here, below both, so the writer and the reader cannot drift.
//
// Every figure is what the bench printed; nothing is derived here.

export const BENCH_RUN_VERSION = 1;

export type BenchRunKind = 'coordination' | 'failover' | 'reaccept' | 'peers' | 'process-scaling' | 'media' | 'e2ee';
export const BENCH_RUN_KINDS: readonly BenchRunKind[] = ['coordination', 'failover', 'reaccept', 'peers', 'process-scaling', 'media', 'e2ee'];

export interface BenchMachine {
  hostname: string;
  cpus: number;
  node: string;
  /** os.loadavg() when the bench finished: 1, 5 and 15 minutes. */
  load_avg: [number, number, number];
}

/** One topology's totals in bench/coordination.ts. */
export interface CoordinationSide {
  topology: string;
  chat_nodes: number;
  acked: number;
  cpu_all_s: number;
  cpu_chat_s: number;
  cpu_all_us_per_msg: number;
  cpu_chat_us_per_msg: number;
  /** --store cassandra: the three Cassandra JVMs' CPU over the same windows (not in cpu_all: the store tier is shared). */
  cpu_store_s?: number;
  cpu_store_us_per_msg?: number;
}

export interface CoordinationFigures {
  scenario: string;
  scale: number;
  duration_s: number;
  /** Seconds at the start of each run not counted (JIT warm-up; absent in files from before it was measured apart). */
  warmup_s?: number;
  rounds: number;
  one_node: CoordinationSide;
  n_nodes: CoordinationSide;
  /** CPU per message on 1 node / on N nodes, every server process. */
  ratio_all: number;
  /** The same, chat nodes only. */
  ratio_chat: number;
  /** The chat nodes' store: 'sqlite' (one shared file; the store's CPU is inside the chat nodes) or 'cassandra'. Absent: sqlite. */
  store?: 'sqlite' | 'cassandra';
  /** --store cassandra: ratio_all with the Cassandra JVMs' CPU added on both sides. */
  ratio_all_with_store?: number;
}

export interface FailoverFigures {
  kills: number;
  chat_nodes: number;
  lease_s: number;
  probes: number;
  /** Kill -> the gateway routes every partition again, one per kill. */
  served_again_ms: number[];
  served_again_ms_p50: number;
  served_again_ms_max: number;
  probe_gap_ms_p50: number;
  probe_gap_ms_max: number;
  acked: number;
  /** 'sqlite' (one shared file) or 'cassandra' (a 3-node cluster, RF=3, LOCAL_QUORUM). Absent: sqlite. */
  store?: 'sqlite' | 'cassandra';
  /** Probe sends answered with an error or a close (each then resent), one figure per kill. */
  failed_sends_per_kill?: number[];
  /** Probe sends still unacknowledged when the bench ended (after a bounded drain): must be 0. */
  unacknowledged?: number;
}

export interface ReacceptWay {
  conns_per_s: number;
  opened: number;
  failed: number;
  connect_ms_p50: number;
  connect_ms_p99: number;
}

export interface ReacceptFigures {
  connections: number;
  rounds: number;
  in_flight: number;
  gateways: number;
  direct: ReacceptWay;
  haproxy: ReacceptWay;
  /** Re-accepts/s through HAProxy / straight to the gateways. */
  ratio_haproxy_direct: number;
}

/** One target's ramp in bench/peers.ts: our full path, Mosquitto QoS 1 or JetStream. */
export interface PeerSide {
  target: string;
  /** The highest rate with p99 < 100 ms and nothing lost; 0 when even the first failed. */
  sustained_msgs_per_s: number;
  delivered: number;
  lost: number;
  errors: number;
  /** CPU of the target's processes (gateway + chat service, or the broker) per delivered message. */
  target_cpu_us_per_msg: number;
  /** CPU of the load generator (this process) per delivered message. */
  generator_cpu_us_per_msg: number;
  load_avg_before: number;
  load_avg_after: number;
}

export interface PeersFigures {
  users: number;
  step_s: number;
  rates: number[];
  sides: PeerSide[];
  /** Our full path's sustained rate / each peer's, by target name (a peer that sustained nothing is left out). */
  full_over_peer: Record<string, number>;
}

/** One process count in bench/process-scaling.ts: the tier's processes' CPU over the measured windows. */
export interface ProcessScalingSide {
  processes: number;
  topology: string;
  acked: number;
  cpu_tier_s: number;
  cpu_tier_us_per_msg: number;
}

export interface ProcessScalingFigures {
  /** The tier whose processes were multiplied ('gateway'). */
  tier: string;
  scenario: string;
  scale: number;
  duration_s: number;
  warmup_s: number;
  rounds: number;
  sides: ProcessScalingSide[];
  /** The process counts the fit used: those up to the machine's cores when there are two or more. */
  fitted_processes: number[];
  /** USL over processes fitted to the CPU per message of fitted_processes (tools/capacity-model/process-scaling.ts). */
  sigma: number;
  kappa: number;
  /** The same over every process count, those above the cores included: printed, not used. */
  sigma_all: number;
  kappa_all: number;
}

/** bench/media-http.ts: media over HTTP through one gateway (docs/design/022-media.md). */
export interface MediaFigures {
  /** The blob store behind the gateway: 'embedded' or 's3'. */
  store: string;
  file_bytes: number;
  upload_mb_per_s: number;
  download_mb_per_s: number;
  /** MB (10^6 bytes) moved per second of gateway CPU: MB/s one gateway core carries. */
  upload_mb_per_gateway_cpu_s: number;
  download_mb_per_gateway_cpu_s: number;
  e2e_sent: number;
  e2e_verified: number;
  e2e_p99_ms: number;
}

/** bench/e2ee.ts: libsignal's cost and bytes per message at the seed's message size, and prekey takes on a store. */
export interface E2eeFigures {
  plaintext_bytes: number;
  /** Stored body minus plaintext, one recipient device, established session. */
  overhead_steady_bytes: number;
  /** The same for a session's first message (PreKeySignalMessage with the PQXDH KEM ciphertext). */
  overhead_first_bytes: number;
  encrypt_decrypt_us: number;
  /** Best one-time prekey takes/s on a CQL store node (absent without --cassandra). */
  store_prekey_takes_per_s?: number;
  store_engine?: string;
  store_cpu_us_per_take?: number | null;
}

interface BenchRunBase {
  version: typeof BENCH_RUN_VERSION;
  command: string;
  machine: BenchMachine;
  generated_at: string;
}

export type BenchRun =
  | (BenchRunBase & { kind: 'coordination'; figures: CoordinationFigures })
  | (BenchRunBase & { kind: 'failover'; figures: FailoverFigures })
  | (BenchRunBase & { kind: 'reaccept'; figures: ReacceptFigures })
  | (BenchRunBase & { kind: 'peers'; figures: PeersFigures })
  | (BenchRunBase & { kind: 'process-scaling'; figures: ProcessScalingFigures })
  | (BenchRunBase & { kind: 'media'; figures: MediaFigures })
  | (BenchRunBase & { kind: 'e2ee'; figures: E2eeFigures });

/** A bench's kind: the file is then read as a bench run, and anything wrong in it is an error. */
export function looksLikeBenchRun(json: Record<string, unknown>): boolean {
  return (BENCH_RUN_KINDS as readonly unknown[]).includes(json.kind);
}

type Check = (path: string, value: unknown) => void;

const positive: Check = (path, v) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`${path} must be a positive number (got ${JSON.stringify(v)})`);
};
const nonNegative: Check = (path, v) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`${path} must be a number >= 0 (got ${JSON.stringify(v)})`);
};
const text: Check = (path, v) => {
  if (typeof v !== 'string' || v.length === 0) throw new Error(`${path} must be a non-empty string`);
};

function object(path: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path} must be an object`);
  return v as Record<string, unknown>;
}

function fields(path: string, v: unknown, spec: Record<string, Check>): Record<string, unknown> {
  const o = object(path, v);
  for (const [k, check] of Object.entries(spec)) check(`${path}.${k}`, o[k]);
  return o;
}

const SIDE: Record<string, Check> = {
  topology: text, chat_nodes: positive, acked: positive, cpu_all_s: positive, cpu_chat_s: positive,
  cpu_all_us_per_msg: positive, cpu_chat_us_per_msg: positive,
};
const PEER_SIDE: Record<string, Check> = {
  target: text, sustained_msgs_per_s: nonNegative, delivered: nonNegative, lost: nonNegative, errors: nonNegative,
  target_cpu_us_per_msg: nonNegative, generator_cpu_us_per_msg: nonNegative, load_avg_before: nonNegative, load_avg_after: nonNegative,
};
const nonEmptyArray = (p: string, v: unknown, each: Check): void => {
  if (!Array.isArray(v) || v.length === 0) throw new Error(`${p} must be a non-empty array`);
  v.forEach((x, i) => each(`${p}[${i}]`, x));
};
const PROCESS_SIDE: Record<string, Check> = { processes: positive, topology: text, acked: positive, cpu_tier_s: positive, cpu_tier_us_per_msg: positive };
const WAY: Record<string, Check> = { conns_per_s: positive, opened: positive, failed: nonNegative, connect_ms_p50: nonNegative, connect_ms_p99: nonNegative };

const FIGURES: Record<BenchRunKind, Record<string, Check>> = {
  coordination: {
    scenario: text, scale: positive, duration_s: positive, rounds: positive,
    one_node: (p, v) => fields(p, v, SIDE), n_nodes: (p, v) => fields(p, v, SIDE),
    ratio_all: positive, ratio_chat: positive,
  },
  failover: {
    kills: positive, chat_nodes: positive, lease_s: positive, probes: positive,
    served_again_ms: (p, v) => {
      if (!Array.isArray(v) || v.length === 0) throw new Error(`${p} must be a non-empty array`);
      v.forEach((x, i) => positive(`${p}[${i}]`, x));
    },
    served_again_ms_p50: positive, served_again_ms_max: positive, probe_gap_ms_p50: nonNegative, probe_gap_ms_max: nonNegative, acked: nonNegative,
  },
  reaccept: {
    connections: positive, rounds: positive, in_flight: positive, gateways: positive,
    direct: (p, v) => fields(p, v, WAY), haproxy: (p, v) => fields(p, v, WAY), ratio_haproxy_direct: positive,
  },
  peers: {
    users: positive, step_s: positive,
    rates: (p, v) => nonEmptyArray(p, v, positive),
    sides: (p, v) => nonEmptyArray(p, v, (q, x) => fields(q, x, PEER_SIDE)),
    full_over_peer: (p, v) => Object.entries(object(p, v)).forEach(([k, x]) => nonNegative(`${p}.${k}`, x)),
  },
  'process-scaling': {
    tier: text, scenario: text, scale: positive, duration_s: positive, warmup_s: nonNegative, rounds: positive,
    sides: (p, v) => nonEmptyArray(p, v, (q, x) => fields(q, x, PROCESS_SIDE)),
    fitted_processes: (p, v) => nonEmptyArray(p, v, positive),
    sigma: nonNegative, kappa: nonNegative, sigma_all: nonNegative, kappa_all: nonNegative,
  },
  media: {
    store: text, file_bytes: positive, upload_mb_per_s: positive, download_mb_per_s: positive,
    upload_mb_per_gateway_cpu_s: positive, download_mb_per_gateway_cpu_s: positive,
    e2e_sent: positive, e2e_verified: nonNegative, e2e_p99_ms: nonNegative,
  },
  e2ee: {
    plaintext_bytes: positive, overhead_steady_bytes: positive, overhead_first_bytes: positive, encrypt_decrypt_us: positive,
    store_prekey_takes_per_s: (p, v) => v === undefined || positive(p, v),
  },
};

/** The run, or an error naming `file` and the first field that is wrong. */
export function asBenchRun(json: unknown, file: string): BenchRun {
  try {
    const o = object('the file', json);
    if (!(BENCH_RUN_KINDS as readonly unknown[]).includes(o.kind)) throw new Error(`kind must be one of ${BENCH_RUN_KINDS.join(', ')}`);
    if (o.version !== BENCH_RUN_VERSION) throw new Error(`version ${JSON.stringify(o.version)}: this model reads version ${BENCH_RUN_VERSION}`);
    text('command', o.command);
    text('generated_at', o.generated_at);
    fields('machine', o.machine, { hostname: text, cpus: positive, node: text });
    const figures = fields('figures', o.figures, FIGURES[o.kind as BenchRunKind]);
    if (o.kind === 'failover') {
      const f = figures as unknown as FailoverFigures;
      if (f.served_again_ms_p50 > f.served_again_ms_max) throw new Error('figures.served_again_ms_p50 is above served_again_ms_max');
    }
    return o as unknown as BenchRun;
  } catch (err) {
    throw new Error(`${file}: not a valid bench run (${err instanceof Error ? err.message : String(err)})`);
  }
}
