// Bounds of the token providers (./token-file.ts, ./registration.ts,
// ./code-source.ts), each with why. A token file and a code file are outside
// input: read with a size cap, validated line by line.
export const IDENTITY_LIMITS = Object.freeze({
  /** A token file larger than this is refused before reading: ~2M users at ~120 bytes a line, and still cheap to hold in memory. */
  token_file_bytes_max: 256 * 1024 * 1024,
  /** Users one token file may list: the largest run one generator process coordinates (shards share one file). */
  token_file_users_max: 2_000_000,
  /** Registrations in flight at once: the gateway's per-source limit is hourly, so more in parallel buys nothing but 429s sooner. */
  registration_concurrency: 4,
  /** One registration HTTP request (code or verify), connect to answer. */
  registration_request_timeout_ms: 10_000,
  /** An HTTP answer larger than this is not the registration endpoint's small JSON. */
  registration_response_bytes_max: 64 * 1024,
  /** How long to wait for a requested code to show up in the code source (a file sender appends at once; SMS takes seconds). */
  code_wait_ms_max: 15_000,
  /** Poll interval of a file code source. */
  code_poll_ms: 50,
  /** Only the newest this-many bytes of a code file are read: codes expire in 5 minutes, older lines are dead. */
  code_file_tail_bytes_max: 16 * 1024 * 1024,
});
