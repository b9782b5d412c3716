// Every limit and setting of the system, in one place. Each limit has a name
// that carries its unit, a default, and a one-line why. Processes read
// overrides from the environment (WA_<NAME>, e.g. WA_TEXT_BYTES_MAX=2048) so
// tests and operators change a limit without touching code.
//
// This module (with config-scylla.ts for the ScyllaDB store's settings) is the
// only code of server/ that reads the environment: every variable a process
// understands is named below, with its default. test/architecture.test.ts
// fails the suite if another server module reads process.env.
import { join, resolve } from 'node:path';
import { DEFAULT_KEY_LIMITS, type KeyLimits } from './config-e2ee';

export interface Limits extends KeyLimits {
  // ---- what one client may send (the gateway's edge checks, server/common/validation.ts)
  /** Largest WebSocket message a client may send; bigger closes with 1009 (past twice this, uWS drops the TCP connection). Fits a batch of a few max-size texts. */
  frame_bytes_max: number;
  /** Largest message body (ciphertext) in one Send. WhatsApp's text limit is ~65k chars; 64 KiB of ciphertext. */
  text_bytes_max: number;
  /** Frames in one ClientBatch. Bounds the work one WebSocket message can cause. */
  batch_frames_max: number;
  /** client_msg_id length. Clients use UUIDs (36) or shorter. */
  client_msg_id_bytes_max: number;
  /** chat_id length. Our ids are short ("d.<a>.<b>", "g.<n>"); anything longer is garbage. */
  chat_id_bytes_max: number;
  /**
   * Frames per second one user may send across all its connections on a gateway (one token bucket per user, so
   * opening more connections does not multiply it); over it -> RATE_LIMITED, the batch dropped.
   */
  user_frames_per_second_max: number;
  /** Burst size of that token bucket. */
  user_frames_burst_max: number;
  /**
   * WebSocket connections one user may hold on a gateway (a phone and a few linked devices; WhatsApp allows 1 + 4
   * companions): one more is refused at the upgrade with 429 TOO_MANY_CONNECTIONS, so one stolen token cannot eat the fd budget.
   */
  user_connections_max: number;
  /** Groups one user may create per rolling hour (creation is a write fan-out to up to 256 users); over it -> GROUP_RATE_LIMITED. */
  user_groups_created_per_hour_max: number;
  /** Members one user may add to groups per rolling hour, creation's members included (adding strangers en masse is spam); over it -> GROUP_RATE_LIMITED. */
  user_group_members_added_per_hour_max: number;
  /** Bytes buffered for a slow socket before the gateway drops it (it resyncs from its offline queue). */
  socket_backpressure_bytes_max: number;
  /** Seconds without any frame (or ping) before a connection is closed and the user marked offline. */
  idle_timeout_seconds: number;
  /** Contacts one connection may watch for presence. */
  presence_watch_max: number;
  /** Registration: display name length. */
  display_name_bytes_max: number;
  /** Registration: the HTTP body (phone and display name as JSON) is tiny; anything bigger is refused with 413. */
  register_body_bytes_max: number;
  /** Group size including the creator (WhatsApp's classic 256). A 257th member -> GROUP_FULL. */
  group_members_max: number;
  /** Group name length. */
  group_name_bytes_max: number;
  /** History page size cap. */
  history_page_max: number;
  /** Token lifetime for registered users. */
  token_ttl_seconds: number;

  // ---- registration with a verification code (server/chat/verification.ts)
  /** A code older than this no longer verifies: long enough to read an SMS, short enough that a leaked one soon stops working. */
  verification_code_ttl_seconds: number;
  /** Wrong guesses at one code before it is dropped (a new code must be requested): 5 guesses at 6 digits succeed with p = 5e-6. */
  verification_attempts_max: number;
  /** Codes sent to one phone per rolling hour: stops SMS-bombing a number and caps guesses per number at this x attempts. */
  verification_codes_per_phone_per_hour_max: number;
  /** Code requests and verifications from one source address per rolling hour (not 1: carriers put many phones behind one NAT address). */
  registrations_per_source_per_hour_max: number;
  /** Phones and source addresses whose registration state is held in memory; past it the oldest entries are forgotten (memory bound under a flood). */
  registration_entries_max: number;

  // ---- queues and drains (server/chat)
  /**
   * Undelivered (not yet acknowledged) messages for one user across their chats, whether the user is
   * offline or online but not acking; a send beyond it -> QUEUE_FULL. Bounds the offline queue.
   */
  offline_queue_messages_max: number;
  /** Offline messages older than this are not delivered by the drain (the queue's TTL). */
  offline_queue_ttl_seconds: number;
  /** Messages per drain page; the next page goes out when the client acks the previous one (pacing). */
  drain_page_messages_max: number;
  /** Drains running at once on a chat node; a reconnect flood waits its turn instead of knocking the tier over. */
  drain_concurrent_max: number;
  /** A draining client that has not acked its page within this gives its drain slot back (it resumes on its next connect). */
  drain_ack_timeout_ms: number;
  /** How often stalled drains are looked for. */
  drain_expiry_check_ms: number;
  /** Drain admission rounds in one tick (drains that finish at once free their slot in the same tick); the rest waits a tick. */
  drain_rounds_per_tick_max: number;
  /** Watermark moves are written at most this often (one row per moved member, not one per ack); a crash only causes redelivery. */
  watermark_flush_ms: number;
  /**
   * Under load a tick waits this long to gather more events into its one commit (server/chat/tick-pacer.ts); 0: every
   * tick runs on the next turn. Measured (run-pairs, 6,000 msg/s, alternating runs): 2-3 ms cut the chat service's CPU
   * per message by 15-17% and the gateway's by ~20% (bigger gRPC batches back), for a few ms of median latency; 1 ms did
   * not show.
   */
  tick_linger_ms: number;
  /** The arrival rate (events per second, over 100 ms windows) from which a tick lingers; below it ticks run at once. */
  tick_linger_min_events_per_s: number;
  /** A group receipt whose range fell out of the in-memory ring reads at most this many messages to find the senders. */
  aggregate_scan_messages_max: number;
  /** Users whose group-creation and member-add counts the chat service tracks (rolling hour); past it the oldest are forgotten. */
  user_rate_entries_max: number;
  /** Bulk provisioning of load-test users: users per call. */
  provision_users_per_call_max: number;

  // ---- the chat engine's caches (server/chat/caches.ts): memory bounds, each entry reloads from the store
  /** Chats whose state (sequence, watermarks) the chat service caches. */
  chat_cache_entries_max: number;
  /** (id, seq, sender) of the last messages per cached chat: resolves acks and group receipts without a store read. */
  recent_messages_per_chat_max: number;
  /** (sender, client_msg_id) pairs remembered for idempotent retries before the store is asked (~100 B each). */
  client_ids_cached_max: number;
  /** User ids known to exist (a set of numbers; cleared when full). */
  known_users_cached_max: number;

  // ---- internal hops (gRPC between gateways and chat nodes)
  /** Items in one gRPC stream message; a larger turn is split. Bounds the stream's message size. */
  grpc_batch_items_max: number;
  /** Largest gRPC message either side accepts: grpc_batch_items_max items of up to frame_bytes_max each fit with room. */
  grpc_message_bytes_max: number;
  /** A gateway whose chat stream broke retries after this, doubling up to chat_link_retry_ms_max. */
  chat_link_retry_ms_min: number;
  /** Longest wait between a gateway's reconnect attempts: a restarted chat service is found within this. */
  chat_link_retry_ms_max: number;

  // ---- shutdown (server/gateway/drain.ts)
  /**
   * On SIGTERM a gateway answers 503 on /healthz and to upgrades for up to this long before closing its
   * remaining sockets with 1001: longer than the load balancer's 2 checks x 500 ms (deploy/services/haproxy.ts),
   * so the clients it closes reconnect to another gateway, not to this one.
   */
  gateway_drain_ms: number;
  /** Cluster mode: client frames a gateway holds for partitions that have no owner right now (moving), all partitions together. */
  gateway_hold_frames_max: number;
  /** ... and for how long: past it a held frame is answered UNAVAILABLE (retryable; the client resends). */
  gateway_hold_ms: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  ...DEFAULT_KEY_LIMITS,
  frame_bytes_max: 256 * 1024,
  text_bytes_max: 64 * 1024,
  batch_frames_max: 256,
  client_msg_id_bytes_max: 64,
  chat_id_bytes_max: 64,
  user_frames_per_second_max: 2_000,
  user_frames_burst_max: 4_000,
  user_connections_max: 8,
  user_groups_created_per_hour_max: 100,
  user_group_members_added_per_hour_max: 5_000,
  socket_backpressure_bytes_max: 1024 * 1024,
  idle_timeout_seconds: 60,
  presence_watch_max: 64,
  display_name_bytes_max: 64,
  register_body_bytes_max: 4096,
  group_members_max: 256,
  group_name_bytes_max: 100,
  history_page_max: 100,
  token_ttl_seconds: 30 * 24 * 3600,
  verification_code_ttl_seconds: 300,
  verification_attempts_max: 5,
  verification_codes_per_phone_per_hour_max: 5,
  registrations_per_source_per_hour_max: 30,
  registration_entries_max: 100_000,
  offline_queue_messages_max: 10_000,
  offline_queue_ttl_seconds: 30 * 24 * 3600,
  drain_page_messages_max: 500,
  drain_concurrent_max: 64,
  drain_ack_timeout_ms: 10_000,
  drain_expiry_check_ms: 1000,
  drain_rounds_per_tick_max: 64,
  watermark_flush_ms: 200,
  tick_linger_ms: 2,
  tick_linger_min_events_per_s: 2000,
  aggregate_scan_messages_max: 1000,
  user_rate_entries_max: 1_000_000,
  provision_users_per_call_max: 1_000_000,
  chat_cache_entries_max: 200_000,
  recent_messages_per_chat_max: 32,
  client_ids_cached_max: 100_000,
  known_users_cached_max: 1_000_000,
  grpc_batch_items_max: 1024,
  grpc_message_bytes_max: 64 * 1024 * 1024,
  chat_link_retry_ms_min: 50,
  chat_link_retry_ms_max: 2000,
  gateway_drain_ms: 2000,
  gateway_hold_frames_max: 50_000,
  gateway_hold_ms: 5000,
});

/** Limits with WA_<NAME> environment overrides applied; a malformed override fails loudly. */
/** Limits for which 0 means "off". */
const ZERO_ALLOWED: ReadonlySet<keyof Limits> = new Set<keyof Limits>(['tick_linger_ms']);

export function loadLimits(env: NodeJS.ProcessEnv = process.env): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(limits) as (keyof Limits)[]) {
    const raw = env[`WA_${key.toUpperCase()}`];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    const min = ZERO_ALLOWED.has(key) ? 0 : 1;
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`WA_${key.toUpperCase()}=${raw}: must be ${min === 0 ? 'a non-negative' : 'a positive'} integer`);
    }
    limits[key] = value;
  }
  // idle timeout: uWS accepts 0 (off) or >= 8 seconds.
  if (limits.idle_timeout_seconds < 8) throw new Error('WA_IDLE_TIMEOUT_SECONDS: uWS needs at least 8 seconds');
  if (limits.chat_link_retry_ms_min > limits.chat_link_retry_ms_max) {
    throw new Error('WA_CHAT_LINK_RETRY_MS_MIN: must not exceed WA_CHAT_LINK_RETRY_MS_MAX');
  }
  return limits;
}

export interface Ports {
  gateway_port: number;
  chat_grpc_port: number;
}

export const DEFAULT_PORTS: Readonly<Ports> = Object.freeze({
  gateway_port: 9001,
  chat_grpc_port: 50051,
});

/** Read a port/number option from env with a default; refuse garbage. */
export function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}=${raw}: must be a non-negative integer`);
  return value;
}

// ---------------------------------------------------------------- fixed bounds (not overridable)

/** Tokens and the secret that signs them (server/common/token.ts, secret.ts). */
export const AUTH_LIMITS = Object.freeze({
  /** A bearer token longer than this is refused before any parsing or HMAC (our tokens are ~100 characters). */
  token_chars_max: 256,
  /** A shorter token secret is refused at start: an HMAC key needs entropy. */
  secret_chars_min: 32,
});

/** What a peer may put in the internal Connect stream's items (server/chat/stream-intake.ts checks them). */
export const STREAM_LIMITS = Object.freeze({
  /** A gateway's id is a log label and a map key: ours are "gw-<pid>" or a topology name. */
  gateway_id_bytes_max: 128,
});

/** The internal gRPC stream's keepalive (server/common/grpc-defs.ts): a dead peer is noticed within about the sum. */
export const GRPC_KEEPALIVE = Object.freeze({
  /** An idle stream pings this often. */
  ping_interval_ms: 10_000,
  /** A ping unanswered this long ends the stream (the gateway reconnects, the chat service drops the link's routes). */
  ping_timeout_ms: 5_000,
});

// ---------------------------------------------------------------- store internals
// Bounds inside the store engines: not protocol limits, so not overridable
// from the environment; the ScyllaDB store's are in config-scylla.ts with its
// settings.

/** The embedded (SQLite) store: cache sizes, query sizes and the WAL's bounds. */
export const EMBEDDED_STORE_LIMITS = Object.freeze({
  /** Chat id -> integer key entries kept in memory; the map is cleared when full (a miss costs one index seek). */
  chat_nums_cached_max: 500_000,
  /** (sender, client_msg_id) pairs looked up per statement: the binding's per-call overhead, not the index seek, dominates a lookup. */
  client_ids_per_query: 64,
  /** How often the checkpoint thread copies committed WAL pages into the database file (PASSIVE: it never blocks the writer, so it may run often). */
  checkpoint_interval_ms: 200,
  /** Past this the checkpoint thread makes the writer rewind the WAL (RESTART), so its file stays near this size. */
  wal_restart_bytes: 64 * 1024 * 1024,
  /** Safety net: a WAL this big (checkpoint thread dead or starved) is checkpointed and truncated by the writer itself. */
  wal_bytes_max: 1024 * 1024 * 1024,
  /** Commits between two checks of the WAL's size against wal_bytes_max: a safety net, so not a stat() on every commit. */
  wal_check_every_commits: 1000,
});

// ---------------------------------------------------------------- process settings

/** Where the token secret comes from (server/common/secret.ts): the variable itself, else a file. */
export interface SecretSettings {
  /** WA_TOKEN_SECRET: the secret itself (tests, containers). */
  secret: string;
  /** WA_TOKEN_SECRET_FILE (default <data dir>/token-secret): the chat service creates it, mode 0600, on first start. */
  file: string;
}

/** The chat service process (server/chat/main.ts). */
export interface ChatSettings {
  /** WA_CHAT_HOST (127.0.0.1). */
  host: string;
  /** WA_CHAT_PORT (50051; 0 = any free port). */
  port: number;
  /** WA_CHAT_METRICS_PORT (9101; 0 = any free port): GET /metrics for Prometheus, on the same host. */
  metrics_port: number;
  /** WA_DATA_DIR (./data): the embedded store and the token secret file. */
  data_dir: string;
  /** WA_STORE (embedded): embedded (SQLite) or scylla. */
  store: string;
  /** One of several chat nodes (server/cluster); null: the single-process default. */
  cluster: ClusterSettings | null;
  /** WA_SQLITE_SYNC (NORMAL): FULL fsyncs every commit (see server/store/embedded/sqlite-store.ts). */
  sqlite_synchronous: 'NORMAL' | 'FULL';
  /** WA_DEBUG_DRAIN=1: log every drain step (operators chasing a reconnect problem). */
  debug_drain: boolean;
  /** WA_DEBUG_SLOWDOWN_US: TEST AID ONLY (server/common/debug-slowdown.ts). */
  debug_slowdown_us: number;
  /** WA_DEBUG_SLOWDOWN_WORK: TEST AID ONLY, work units per accepted message (server/common/debug-slowdown.ts). */
  debug_slowdown_work: number;
  secret: SecretSettings;
  /** How registration codes reach phones (server/chat/code-sender.ts). */
  code_sender: CodeSenderSettings;
  /**
   * WA_LOADTEST_PROVISIONING=1: TEST AID ONLY. Enables the bulk ProvisionUsers call (load-test users without phone
   * verification); off by default, and a call without it is refused with FAILED_PRECONDITION naming the variable.
   * deploy/local-system.ts and deploy/topology.ts (the test and load-generator launchers) set it; nothing else does.
   */
  loadtest_provisioning: boolean;
}

/** WA_CODE_SENDER (file): where verification codes go. */
export interface CodeSenderSettings {
  /** 'file' (the local default: appended to WA_CODE_FILE, announced loudly at start) or 'none' (codes dropped: a deployment without an SMS gateway cannot register anyone). */
  kind: 'file' | 'none';
  /** WA_CODE_FILE (<data dir>/verification-codes.log). */
  file: string;
}

function codeSenderSettings(env: NodeJS.ProcessEnv, dataDir: string): CodeSenderSettings {
  const kind = env.WA_CODE_SENDER || 'file';
  if (kind !== 'file' && kind !== 'none') throw new Error(`WA_CODE_SENDER=${kind}: must be file or none`);
  return { kind, file: env.WA_CODE_FILE || join(dataDir, 'verification-codes.log') };
}

export const CHAT_METRICS_PORT_DEFAULT = 9101;

export function chatSettings(env: NodeJS.ProcessEnv = process.env): ChatSettings {
  const dataDir = dataDirOf(env);
  const sync = env.WA_SQLITE_SYNC || 'NORMAL';
  if (sync !== 'NORMAL' && sync !== 'FULL') throw new Error(`WA_SQLITE_SYNC=${sync}: must be NORMAL or FULL`);
  return {
    host: env.WA_CHAT_HOST || '127.0.0.1',
    port: envInt(env, 'WA_CHAT_PORT', DEFAULT_PORTS.chat_grpc_port),
    metrics_port: envInt(env, 'WA_CHAT_METRICS_PORT', CHAT_METRICS_PORT_DEFAULT),
    data_dir: dataDir,
    store: env.WA_STORE || 'embedded',
    cluster: clusterSettings(env),
    sqlite_synchronous: sync,
    debug_drain: env.WA_DEBUG_DRAIN === '1',
    debug_slowdown_us: debugSlowdownUs(env),
    debug_slowdown_work: debugSlowdownWork(env),
    secret: secretSettings(env, dataDir),
    code_sender: codeSenderSettings(env, dataDir),
    loadtest_provisioning: env.WA_LOADTEST_PROVISIONING === '1',
  };
}

/** The gateway process (server/gateway/main.ts). */
export interface GatewaySettings {
  /** WA_GATEWAY_HOST (127.0.0.1). */
  host: string;
  /** WA_GATEWAY_PORT (9001; 0 = any free port). Prometheus scrapes GET /metrics on the same port. */
  port: number;
  /** WA_CHAT_TARGET (127.0.0.1:50051): the chat service's gRPC address. */
  chat_target: string;
  /** WA_GATEWAY_ID (gw-<pid>). */
  gateway_id: string;
  /** Cluster mode: find chat nodes and partition owners in etcd (WA_CLUSTER_ETCD) instead of WA_CHAT_TARGET. */
  cluster: ClusterSettings | null;
  /** WA_DEBUG_SLOWDOWN_WORK: TEST AID ONLY, work units per inbound frame (server/common/debug-slowdown.ts). */
  debug_slowdown_work: number;
  /** WA_GATEWAY_COALESCE (1): 0 writes one WebSocket message per frame instead of one per socket per turn (benchmark comparisons only). */
  coalesce: boolean;
  secret: SecretSettings;
  /**
   * WA_TRUSTED_PROXIES (none): comma list of addresses (the load balancers) whose X-Forwarded-For names the client
   * for the per-source registration limit; from any other peer the header is ignored (a client could forge it).
   */
  trusted_proxies: string[];
}

export function gatewaySettings(env: NodeJS.ProcessEnv = process.env): GatewaySettings {
  return {
    host: env.WA_GATEWAY_HOST || '127.0.0.1',
    port: envInt(env, 'WA_GATEWAY_PORT', DEFAULT_PORTS.gateway_port),
    chat_target: env.WA_CHAT_TARGET || `127.0.0.1:${DEFAULT_PORTS.chat_grpc_port}`,
    gateway_id: env.WA_GATEWAY_ID || `gw-${process.pid}`,
    cluster: clusterSettings(env),
    debug_slowdown_work: debugSlowdownWork(env),
    coalesce: gatewayCoalesce(env),
    secret: secretSettings(env, dataDirOf(env)),
    trusted_proxies: (env.WA_TRUSTED_PROXIES ?? '').split(',').map((a) => a.trim()).filter(Boolean),
  };
}

/** The multi-node topology (docs/design/013-scale-out.md). */
export interface ClusterSettings {
  /** WA_CLUSTER_ETCD: comma list of etcd endpoints (http://host:port); setting it turns cluster mode on. */
  etcd: string;
  /** WA_NODE_NAME (chat-<pid>): this chat node's name in etcd; unique in the cluster. */
  node_name: string;
  /** WA_CLUSTER_LEASE_SECONDS (2): a dead node's partitions move after at most this long. */
  lease_seconds: number;
  /** WA_CHAT_ADVERTISE (host:bound port): where gateways dial this chat node. */
  advertise: string;
  /** WA_REDIS_URL (redis://host:port): the routes and presence directory (server/directory); '' = none. */
  redis_url: string;
}

function clusterSettings(env: NodeJS.ProcessEnv): ClusterSettings | null {
  const etcd = env.WA_CLUSTER_ETCD || '';
  if (!etcd) return null;
  const lease = envInt(env, 'WA_CLUSTER_LEASE_SECONDS', 2);
  if (lease < 1 || lease > 60) throw new Error(`WA_CLUSTER_LEASE_SECONDS=${lease}: must be 1..60`);
  return { etcd, node_name: env.WA_NODE_NAME || `chat-${process.pid}`, lease_seconds: lease, advertise: env.WA_CHAT_ADVERTISE || '',
    redis_url: env.WA_REDIS_URL || '' };
}

/** WA_GATEWAY_COALESCE: read on its own too, by gateways started in process (tests, benches). */
export function gatewayCoalesce(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.WA_GATEWAY_COALESCE !== '0';
}

/** WA_DATA_DIR (./data): the embedded store and the token secret file live here. */
function dataDirOf(env: NodeJS.ProcessEnv): string {
  return resolve(env.WA_DATA_DIR || 'data');
}

function secretSettings(env: NodeJS.ProcessEnv, dataDir: string): SecretSettings {
  return { secret: env.WA_TOKEN_SECRET ?? '', file: env.WA_TOKEN_SECRET_FILE || join(dataDir, 'token-secret') };
}

/** Metrics switches of every process (server/metrics/registry.ts). */
export interface MetricsSettings {
  /** WA_METRICS (1): 0 skips hot-path observations (the cost comparison's "off" side). */
  enabled: boolean;
  /** WA_METRICS_DEFAULTS (1): 0 leaves out prom-client's default collectors (to measure them apart). */
  defaults: boolean;
  /** WA_METRICS_GC (0): 1 adds prom-client's GC histogram (a perf_hooks observer per GC). */
  gc: boolean;
  /** WA_PROM_SD_DIR: where processes on ephemeral ports register for Prometheus file discovery (unset: nowhere). */
  prom_sd_dir: string;
}

export function metricsSettings(env: NodeJS.ProcessEnv = process.env): MetricsSettings {
  return {
    enabled: env.WA_METRICS !== '0',
    defaults: env.WA_METRICS_DEFAULTS !== '0',
    gc: env.WA_METRICS_GC === '1',
    prom_sd_dir: env.WA_PROM_SD_DIR ?? '',
  };
}

/** UWS_USE_FALLBACK=1 asks the uWS package for its pure-JS fallback: the gateway refuses to start with it. */
export function uwsFallbackRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true)$/i.test(env.UWS_USE_FALLBACK ?? '');
}

/** The largest slowdown accepted: 10 ms per message is already a ~100x regression. */
export const DEBUG_SLOWDOWN_US_MAX = 10_000;

/**
 * WA_DEBUG_SLOWDOWN_US (0): TEST AID ONLY, µs of CPU burnt per accepted message (server/common/debug-slowdown.ts);
 * a malformed or out-of-range value fails loudly.
 */
export function debugSlowdownUs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.WA_DEBUG_SLOWDOWN_US;
  if (raw === undefined || raw === '') return 0;
  const us = Number(raw);
  if (!Number.isInteger(us) || us < 0 || us > DEBUG_SLOWDOWN_US_MAX) {
    throw new Error(`WA_DEBUG_SLOWDOWN_US=${raw}: must be an integer within 0..${DEBUG_SLOWDOWN_US_MAX} (microseconds per message; a test aid)`);
  }
  return us;
}

/** The largest work slowdown accepted: 100,000 units is ~25 ms per message, already a ~100x regression. */
export const DEBUG_SLOWDOWN_WORK_MAX = 100_000;

/**
 * WA_DEBUG_SLOWDOWN_WORK (0): TEST AID ONLY, units of fixed work per message (chat) or inbound frame (gateway)
 * (server/common/debug-slowdown.ts); a malformed or out-of-range value fails loudly.
 */
export function debugSlowdownWork(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.WA_DEBUG_SLOWDOWN_WORK;
  if (raw === undefined || raw === '') return 0;
  const units = Number(raw);
  if (!Number.isInteger(units) || units < 0 || units > DEBUG_SLOWDOWN_WORK_MAX) {
    throw new Error(`WA_DEBUG_SLOWDOWN_WORK=${raw}: must be an integer within 0..${DEBUG_SLOWDOWN_WORK_MAX} (work units per message; a test aid)`);
  }
  return units;
}
