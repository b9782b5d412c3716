// Bounds of the Prometheus remote-write output (./remote-write.ts), each with why.
export const REMOTE_WRITE_LIMITS = Object.freeze({
  /** Batches (one per interval) waiting to be sent: 2 minutes of 1 s intervals ride out a Prometheus restart; more only grows memory. At least 2 (the head may be in flight). */
  queue_batches_max: 120,
  /** One POST, connect to answer: a healthy receiver answers a 4 KB write in milliseconds; past this it is not keeping up. */
  request_timeout_ms: 5_000,
  /** Retries of a batch that failed (network, 5xx, 429) before it is dropped and counted: the queue behind it must move. */
  retries_max: 3,
  /** Wait before retry n is n times this. */
  retry_backoff_ms: 500,
  /** At the end of the run, how long to wait for the queue to drain before dropping (and counting) the rest. */
  flush_timeout_ms: 10_000,
  /** Of an error answer, this much is kept for the log (Prometheus explains a refusal in one line). */
  error_chars_max: 300,
  /** --remote-write's URL length. */
  url_chars_max: 2048,
});
