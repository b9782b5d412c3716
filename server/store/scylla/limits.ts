// The ScyllaDB store's limits: cache sizes, read sizes, rounds and the connect
// deadline's slack, each with a one-line why. Self-contained (no imports) so
// that it can move into server/common/config.ts as it is. The knobs operators
// set (consistency, batching, timeouts, TTLs) are in ./config.ts.

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
});
