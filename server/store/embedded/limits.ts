// The embedded (SQLite) store's limits: cache sizes, query sizes and the WAL's
// bounds, each with a one-line why. Self-contained (no imports) so that it can
// move into server/common/config.ts as it is.

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
