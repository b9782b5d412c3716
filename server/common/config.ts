// Every limit and default of the system, in one place. Each has a name that
// carries its unit, a default, and a one-line why. Processes read overrides
// from the environment (WA_<NAME>, e.g. WA_TEXT_BYTES_MAX=2048) so tests and
// operators change a limit without touching code.

export interface Limits {
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
  /** Frames per second a connection may send (token bucket); over it -> RATE_LIMITED, frame dropped. */
  conn_frames_per_second_max: number;
  /** Burst size of that token bucket. */
  conn_frames_burst_max: number;
  /** Bytes buffered for a slow socket before the gateway drops it (it resyncs from its offline queue). */
  socket_backpressure_bytes_max: number;
  /** Seconds without any frame (or ping) before a connection is closed and the user marked offline. */
  idle_timeout_seconds: number;
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
  /** History page size cap. */
  history_page_max: number;
  /** Contacts one connection may watch for presence. */
  presence_watch_max: number;
  /** Registration: display name length. */
  display_name_bytes_max: number;
  /** Group size including the creator (WhatsApp's classic 256). A 257th member -> GROUP_FULL. */
  group_members_max: number;
  /** Group name length. */
  group_name_bytes_max: number;
  /** Items in one gRPC stream message; a larger turn is split. Bounds the stream's message size. */
  grpc_batch_items_max: number;
  /** Chats whose state (sequence, watermarks) the chat service caches. */
  chat_cache_entries_max: number;
  /** Token lifetime for registered users. */
  token_ttl_seconds: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  frame_bytes_max: 256 * 1024,
  text_bytes_max: 64 * 1024,
  batch_frames_max: 256,
  client_msg_id_bytes_max: 64,
  chat_id_bytes_max: 64,
  conn_frames_per_second_max: 2_000,
  conn_frames_burst_max: 4_000,
  socket_backpressure_bytes_max: 1024 * 1024,
  idle_timeout_seconds: 60,
  offline_queue_messages_max: 10_000,
  offline_queue_ttl_seconds: 30 * 24 * 3600,
  drain_page_messages_max: 500,
  drain_concurrent_max: 64,
  history_page_max: 100,
  presence_watch_max: 64,
  display_name_bytes_max: 64,
  group_members_max: 256,
  group_name_bytes_max: 100,
  grpc_batch_items_max: 1024,
  chat_cache_entries_max: 200_000,
  token_ttl_seconds: 30 * 24 * 3600,
});

/** Limits with WA_<NAME> environment overrides applied; a malformed override fails loudly. */
export function loadLimits(env: NodeJS.ProcessEnv = process.env): Limits {
  const limits: Limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(limits) as (keyof Limits)[]) {
    const raw = env[`WA_${key.toUpperCase()}`];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`WA_${key.toUpperCase()}=${raw}: must be a positive integer`);
    }
    limits[key] = value;
  }
  // idle timeout: uWS accepts 0 (off) or >= 8 seconds.
  if (limits.idle_timeout_seconds < 8) throw new Error('WA_IDLE_TIMEOUT_SECONDS: uWS needs at least 8 seconds');
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
