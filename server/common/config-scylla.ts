// Settings of the ScyllaDB store (server/store/scylla): every knob with its
// default and a one-line why. Read from the environment (WA_SCYLLA_*) here,
// beside server/common/config.ts, so that no store module reads the
// environment; overridden by the chat service's flags
// (server/store/scylla/config.ts) and by tests/benchmarks directly.
import { DEFAULT_LIMITS } from './config';

export interface ScyllaConfig {
  /** host:port of nodes to discover the cluster from; the driver learns the rest of the ring from them. */
  contact_points: string[];
  /** One keyspace holds the whole store (and its schema_migrations table). */
  keyspace: string;
  /** The data centre this process lives in: token-aware routing prefers its replicas, LOCAL_* levels count only them. */
  local_dc: string;
  /** Consistency of every read and write (LOCAL_QUORUM: read-your-writes with RF=3 and survives one replica down). */
  consistency: ConsistencyName;
  /** Replicas per data centre when migrate creates the keyspace (NetworkTopologyStrategy). Production: 3. */
  replication_factor: number;
  /** Create the keyspace and apply pending migrations at start (else they must already be applied). */
  migrate: boolean;
  /**
   * Width of a message partition's time bucket. Fixed per keyspace (recorded in store_meta when the keyspace is
   * created): null means "whatever the keyspace was created with", or bucket_ms_default for a new keyspace.
   */
  bucket_ms: number | null;
  /** Concurrent requests one store keeps in flight (writes of a commit, reads of a lookup); more queue here, not in the driver. */
  requests_in_flight_max: number;
  /**
   * Writes of a commit sent as one unlogged batch when their partitions share a replica; 0 or 1: one request
   * per write. 10: Cassandra warns about unlogged batches over 10 partitions (ScyllaDB does not).
   */
  batch_statements_max: number;
  /** Byte budget of one such batch. 5000: under Cassandra's 5 KiB batch_size_warn_threshold (ScyllaDB's is 128 KiB). */
  batch_bytes_max: number;
  /** Connect (and fail with a clear error) within this; a black-holed contact point must not hang the start. */
  connect_timeout_ms: number;
  /** Client-side timeout of one request; the server's own write timeout is 2 s, reads 5 s. */
  request_timeout_ms: number;
  /** Log every store call slower than this (ms) with the limiter's state; 0 = off. For operators chasing latency. */
  slow_call_ms: number;
  /** How long a (sender, client_msg_id) is remembered for idempotent retries; 0 = forever. */
  client_id_ttl_seconds: number;
  /** How long a 1:1 chat's "new message for you" index entry lives; at least the offline queue's TTL. */
  inbox_ttl_seconds: number;
}

export const CONSISTENCY_NAMES = ['LOCAL_ONE', 'LOCAL_QUORUM', 'ONE', 'TWO', 'THREE', 'QUORUM', 'EACH_QUORUM', 'ALL'] as const;
export type ConsistencyName = (typeof CONSISTENCY_NAMES)[number];

/** Discord's choice for its message partitions: 10 days keeps a busy channel's partition well under 100 MB. */
export const BUCKET_MS_DEFAULT = 10 * 24 * 3600 * 1000;

export const SCYLLA_DEFAULTS: Readonly<ScyllaConfig> = Object.freeze({
  contact_points: ['127.0.0.1:9042'],
  keyspace: 'wa',
  local_dc: 'datacenter1',
  consistency: 'LOCAL_QUORUM',
  // One node locally (scripts/cassandra.sh); production sets 3.
  replication_factor: 1,
  migrate: false,
  bucket_ms: null,
  requests_in_flight_max: 256,
  batch_statements_max: 10,
  batch_bytes_max: 5000,
  connect_timeout_ms: 5000,
  request_timeout_ms: 10_000,
  slow_call_ms: 0,
  // Clients give up retrying a send long before 30 days.
  client_id_ttl_seconds: 30 * 24 * 3600,
  inbox_ttl_seconds: DEFAULT_LIMITS.offline_queue_ttl_seconds,
});

const KEYSPACE_RE = /^[a-z][a-z0-9_]{0,47}$/;

/** The configuration from WA_SCYLLA_* variables (and WA_OFFLINE_QUEUE_TTL_SECONDS), then `over`; a malformed value fails loudly. */
export function scyllaConfig(env: NodeJS.ProcessEnv, over: Partial<ScyllaConfig> = {}): ScyllaConfig {
  const c: ScyllaConfig = { ...SCYLLA_DEFAULTS, contact_points: [...SCYLLA_DEFAULTS.contact_points] };
  const str = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]!.trim());
  const int = (name: string, min: number): number | undefined => {
    const raw = str(name);
    if (raw === undefined) return undefined;
    const v = Number(raw);
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`${name}=${raw}: must be an integer >= ${min}`);
    return v;
  };
  const points = str('WA_SCYLLA_CONTACT_POINTS');
  if (points !== undefined) c.contact_points = points.split(',').map((p) => p.trim()).filter(Boolean);
  c.keyspace = str('WA_SCYLLA_KEYSPACE') ?? c.keyspace;
  c.local_dc = str('WA_SCYLLA_LOCAL_DC') ?? c.local_dc;
  c.consistency = (str('WA_SCYLLA_CONSISTENCY')?.toUpperCase() as ConsistencyName | undefined) ?? c.consistency;
  c.replication_factor = int('WA_SCYLLA_RF', 1) ?? c.replication_factor;
  const migrate = str('WA_SCYLLA_MIGRATE');
  if (migrate !== undefined) c.migrate = parseBool('WA_SCYLLA_MIGRATE', migrate);
  c.bucket_ms = int('WA_SCYLLA_BUCKET_MS', 1) ?? c.bucket_ms;
  c.requests_in_flight_max = int('WA_SCYLLA_REQUESTS_IN_FLIGHT_MAX', 1) ?? c.requests_in_flight_max;
  c.batch_statements_max = int('WA_SCYLLA_BATCH_STATEMENTS_MAX', 0) ?? c.batch_statements_max;
  c.batch_bytes_max = int('WA_SCYLLA_BATCH_BYTES_MAX', 256) ?? c.batch_bytes_max;
  c.connect_timeout_ms = int('WA_SCYLLA_CONNECT_TIMEOUT_MS', 100) ?? c.connect_timeout_ms;
  c.request_timeout_ms = int('WA_SCYLLA_REQUEST_TIMEOUT_MS', 100) ?? c.request_timeout_ms;
  c.slow_call_ms = int('WA_SCYLLA_SLOW_MS', 0) ?? c.slow_call_ms;
  c.client_id_ttl_seconds = int('WA_SCYLLA_CLIENT_ID_TTL_SECONDS', 0) ?? c.client_id_ttl_seconds;
  c.inbox_ttl_seconds = int('WA_OFFLINE_QUEUE_TTL_SECONDS', 1) ?? c.inbox_ttl_seconds;
  const out = { ...c, ...stripUndefined(over) };
  validate(out);
  return out;
}

/** The configuration of this process: its environment, then `over` (the command's flags). */
export function scyllaConfigFromEnvironment(over: Partial<ScyllaConfig> = {}): ScyllaConfig {
  return scyllaConfig(process.env, over);
}

export function parseBool(name: string, raw: string): boolean {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new Error(`${name}=${raw}: must be 1/0 (true/false)`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function validate(c: ScyllaConfig): void {
  if (c.contact_points.length === 0) throw new Error('WA_SCYLLA_CONTACT_POINTS: at least one host[:port] is needed');
  for (const p of c.contact_points) {
    if (!/^[A-Za-z0-9_.\-]+(:\d{1,5})?$/.test(p) && !/^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(p)) {
      throw new Error(`WA_SCYLLA_CONTACT_POINTS: "${p}" is not host[:port]`);
    }
  }
  if (!KEYSPACE_RE.test(c.keyspace)) {
    throw new Error(`WA_SCYLLA_KEYSPACE=${c.keyspace}: a keyspace name is a lowercase letter then up to 47 of [a-z0-9_]`);
  }
  if (!CONSISTENCY_NAMES.includes(c.consistency)) {
    throw new Error(`WA_SCYLLA_CONSISTENCY=${c.consistency}: must be one of ${CONSISTENCY_NAMES.join(', ')}`);
  }
  if (!c.local_dc) throw new Error('WA_SCYLLA_LOCAL_DC: the local data centre name is required');
  if (!Number.isSafeInteger(c.replication_factor) || c.replication_factor < 1) throw new Error('WA_SCYLLA_RF: must be >= 1');
  if (c.bucket_ms !== null && (!Number.isSafeInteger(c.bucket_ms) || c.bucket_ms < 1)) throw new Error('WA_SCYLLA_BUCKET_MS: must be >= 1');
  if (c.inbox_ttl_seconds < 1) throw new Error('inbox_ttl_seconds: must be >= 1');
}

/** The ScyllaDB store's internal bounds: cache sizes, read sizes, rounds and the connect deadline's slack. */
export const SCYLLA_STORE_LIMITS = Object.freeze({
  /** Chats whose membership (and members' persisted watermarks) the store keeps in memory. */
  member_cache_chats_max: 200_000,
  /** Chats whose newest written bucket is remembered (a chat_buckets row is written once per chat per bucket). */
  bucket_cache_chats_max: 500_000,
  /** Bucket rows read per step when history or a drain walks a chat's buckets. */
  buckets_per_read: 8,
  /** Rows per page when reading a whole partition (a user's chats). */
  page_rows: 1000,
  /** Users checked or created per round by provisionUsers (bounds the promises alive at once). */
  provision_chunk_users: 4096,
  /** Compare-and-set rounds for one registration id before giving up (contention from other nodes). */
  id_alloc_attempts_max: 64,
  /** Extra time the whole connect may take beyond one contact point's connect timeout. */
  connect_slack_ms: 2000,
  /**
   * A commit hands writes to the driver only this long after its fence check was issued (monotonic clock);
   * past it, it checks again first, and the driver retries none of its writes. Bounds what an owner paused
   * mid-commit can still write after a newer owner claimed (docs/design/005). A normal commit takes ms.
   */
  fence_check_valid_ms: 1000,
  /**
   * How far back a fenced first load looks for a former owner's late message rows (docs/design/005,
   * "Late rows"): the buckets covering the last this-many ms get a range tombstone. A late row was
   * minted before its writer paused; one older than this needs a writer frozen for a week.
   */
  late_row_horizon_ms: 7 * 24 * 3600 * 1000,
  /** Partitions per conditional batch (one Paxos round) of a claim: 1,024 at once would pass batch_size_fail_threshold. */
  fence_claim_chunk_partitions: 128,
  /** Read-then-CAS rounds of one claim chunk before giving up (another node claiming the same rows at once). */
  fence_claim_attempts_max: 16,
});
