// The load generator's built-in metrics, k6-style: trends (HDR histograms, in
// milliseconds), counters, rates (share of true samples) and gauges. Threshold
// names are checked against this list, so a typo fails before the run, as in k6.
// The list is part of the scenario model (scenarios name these metrics);
// loadgen/metrics records and adds them up.
//
// Every latency is measured in the worker thread that both sent and received,
// with that thread's monotonic clock, from the *scheduled* time of the
// iteration (open-model executors), so a stalled target shows up in the
// percentiles instead of silently slowing the sender (no coordinated omission).

export type MetricType = 'trend' | 'counter' | 'rate' | 'gauge';

export interface MetricInfo {
  type: MetricType;
  /** Trends are milliseconds; counters count what their name says. */
  unit: 'ms' | 'count' | 'share' | 'percent' | 'bytes';
  description: string;
}

export const METRICS = {
  // ---- trends (ms)
  delivery_latency: { type: 'trend', unit: 'ms', description: 'scheduled send time -> live delivery at the recipient' },
  offline_delivery_latency: { type: 'trend', unit: 'ms', description: 'recipient starts reconnecting -> a queued (offline) message arrives' },
  sent_ack_latency: { type: 'trend', unit: 'ms', description: 'scheduled send time -> the server\'s `sent` ack (durably stored)' },
  receipt_delivered_latency: { type: 'trend', unit: 'ms', description: 'scheduled send time -> the sender sees the `delivered` receipt' },
  receipt_read_latency: { type: 'trend', unit: 'ms', description: 'scheduled send time -> the sender sees the `read` receipt' },
  connect_time: { type: 'trend', unit: 'ms', description: 'TCP connect + WebSocket upgrade (token checked)' },
  drain_time: { type: 'trend', unit: 'ms', description: 'reconnect start -> DrainDone (the whole offline queue received)' },
  iteration_duration: { type: 'trend', unit: 'ms', description: 'one iteration, from its actual start to its end' },
  media_latency: { type: 'trend', unit: 'ms', description: 'media message: scheduled send time -> the recipient downloaded, decrypted and verified the file' },
  media_upload_time: { type: 'trend', unit: 'ms', description: 'media message: scheduled send time -> its upload complete (encrypted, uploaded, blob durable)' },
  e2ee_encrypt_time: { type: 'trend', unit: 'ms', description: 'traffic.e2ee: one body\'s libsignal encryption (1:1: for every device of the peer; group: the one sender-key ciphertext), wall time on the worker thread once its turn in the thread\'s crypto FIFO came (the wait for the turn and the key fetch excluded; both are in delivery_latency)' },
  e2ee_decrypt_time: { type: 'trend', unit: 'ms', description: 'traffic.e2ee: one received body\'s libsignal decryption (1:1 or group), wall time on the worker thread once its turn in the crypto FIFO came, like e2ee_encrypt_time' },
  e2ee_first_message_latency: { type: 'trend', unit: 'ms', description: 'traffic.e2ee: a sender\'s first message to a peer (number 1 of its stream: the bundle fetch, the PQXDH session start and the encryption happen on its way out): scheduled send time -> its live delivery, decrypted, at the peer' },
  schedule_lag: { type: 'trend', unit: 'ms', description: 'how late iterations started after their scheduled time (the generator\'s own delay)' },
  // ---- counters
  iterations: { type: 'counter', unit: 'count', description: 'iterations completed' },
  dropped_iterations: { type: 'counter', unit: 'count', description: 'iterations not started: no free VU and maxVUs reached (k6)' },
  iterations_interrupted: { type: 'counter', unit: 'count', description: 'iterations still running when gracefulStop ran out' },
  iteration_timeouts: { type: 'counter', unit: 'count', description: 'iterations whose reply did not come within iterationTimeout' },
  messages_sent: { type: 'counter', unit: 'count', description: 'messages written to the target (first transmission; retries count in sends_retried)' },
  group_messages_sent: { type: 'counter', unit: 'count', description: 'messages written to a group chat (each is delivered to every other member)' },
  messages_rejected: { type: 'counter', unit: 'count', description: 'sends the target refused with an error frame' },
  messages_unacknowledged: { type: 'counter', unit: 'count', description: 'sends written to the target that never got a `sent` ack: timed out, or still unanswered at the end (a send whose connection closed goes out again instead)' },
  messages_delivered: { type: 'counter', unit: 'count', description: 'first deliveries of a message to its recipient (live or drained)' },
  delivery_lost: { type: 'counter', unit: 'count', description: 'messages the target acknowledged (bare: sent) never delivered within the grace period, recipient online' },
  delivery_duplicated: { type: 'counter', unit: 'count', description: 'a message delivered again as a live (non-replay) delivery' },
  delivery_out_of_order: { type: 'counter', unit: 'count', description: 'a message delivered after a later one of the same sender->recipient stream' },
  delivery_redelivered: { type: 'counter', unit: 'count', description: 'a replayed delivery of a message already received (at-least-once, expected after reconnects)' },
  delivery_queued_offline: { type: 'counter', unit: 'count', description: 'accepted messages still undelivered at the end because the recipient was offline' },
  messages_drained: { type: 'counter', unit: 'count', description: 'messages the server reported draining from offline queues (DrainDone)' },
  users_dropped: { type: 'counter', unit: 'count', description: 'users disconnected by the disconnect workload' },
  users_reconnected: { type: 'counter', unit: 'count', description: 'users reconnected and fully drained by the reconnect workload' },
  errors: { type: 'counter', unit: 'count', description: 'error frames from the target answering a send or no request (a refusal of the connection\'s own requests, e.g. a key fetch, fails that request instead: e2ee\'s sends_failed{reason:e2ee_<code>})' },
  connect_errors: { type: 'counter', unit: 'count', description: 'connections that failed to open' },
  disconnects_unexpected: { type: 'counter', unit: 'count', description: 'connections the target closed (the user reconnects by itself, with backoff; its sends wait in its outbox)' },
  reconnects_automatic: { type: 'counter', unit: 'count', description: 'users back after the target closed their connection' },
  reconnects_failed: { type: 'counter', unit: 'count', description: 'reconnect iterations that did not end drained; reconnects_failed{reason:X} by reason (connect_<code>, upgrade_<status>, drain_timeout, closed_before_drain)' },
  // ---- the send accounting: every scheduled send ends as exactly one of ok, failed, dropped, queued at the end
  sends_scheduled: { type: 'counter', unit: 'count', description: 'sends the schedule asked for (iterations of chat/group workloads, started or dropped)' },
  sends_ok: { type: 'counter', unit: 'count', description: 'scheduled sends the target acknowledged (bare targets: delivered)' },
  sends_failed: { type: 'counter', unit: 'count', description: 'scheduled sends that failed; sends_failed{reason:X} by reason (a server error code, timeout, outbox_full, no_sender, reconnect_failed)' },
  sends_dropped: { type: 'counter', unit: 'count', description: 'scheduled sends the generator dropped: no free VU when due (their part of dropped_iterations)' },
  sends_queued_at_end: { type: 'counter', unit: 'count', description: 'scheduled sends still in an outbox or unanswered on the wire when the run ended' },
  sends_retried: { type: 'counter', unit: 'count', description: 'sends written to the target more than once (same client_msg_id): after a reconnect or a retryable error' },
  sends_outboxed: { type: 'counter', unit: 'count', description: 'sends that waited in their sender\'s outbox (connection down or held back) at least once' },
  // ---- the media accounting: every scheduled media send ends as exactly one of verified, failed, dropped, queued at the end
  media_scheduled: { type: 'counter', unit: 'count', description: 'media sends the schedule asked for (their share, mediaShare, of the chat workload\'s sends)' },
  media_uploaded: { type: 'counter', unit: 'count', description: 'media files whose upload completed (the gateway answered complete)' },
  media_verified: { type: 'counter', unit: 'count', description: 'media messages whose recipient downloaded the file and verified it (hash, MAC, plaintext hash)' },
  media_failed: { type: 'counter', unit: 'count', description: 'media sends that failed; media_failed{reason:X} by reason (upload_<status>, upload_timeout, message_<reason>, download_<status>, integrity, ...)' },
  media_dropped: { type: 'counter', unit: 'count', description: 'media sends the generator dropped: no free VU when due' },
  media_queued_at_end: { type: 'counter', unit: 'count', description: 'media sends unfinished when the run ended; media_queued_at_end{stage:X}: uploading, undelivered, downloading' },
  media_bytes_up: { type: 'counter', unit: 'bytes', description: 'media bytes uploaded (ciphertext + MAC, what the blob store keeps)' },
  media_bytes_down: { type: 'counter', unit: 'bytes', description: 'media bytes downloaded by recipients (ciphertext + MAC)' },
  e2ee_key_fetches: { type: 'counter', unit: 'count', description: 'traffic.e2ee: prekey bundle fetches from the key directory (one per new peer: a session starts)' },
  e2ee_key_uploads: { type: 'counter', unit: 'count', description: 'traffic.e2ee: key uploads to the key directory (a device\'s registration, one-time prekey refills)' },
  e2ee_prekeys_reused: { type: 'counter', unit: 'count', description: 'traffic.e2ee: a fetched bundle carried a one-time prekey (user, device, id) this generator thread had been handed before (must stay 0: each is handed out once)' },
  e2ee_bundles_without_prekey: { type: 'counter', unit: 'count', description: 'traffic.e2ee: fetched device bundles without a one-time prekey (the pool ran dry, or a ScyllaDB take lost every race: X3DH without one)' },
  e2ee_sender_keys_sent: { type: 'counter', unit: 'count', description: 'traffic.e2ee: sender key distribution messages sent, each inside a 1:1 envelope to one member (a sender\'s first message to a group, or a new epoch after a member is gone); not in messages_sent' },
  e2ee_sender_keys_received: { type: 'counter', unit: 'count', description: 'traffic.e2ee: sender key distribution messages received and taken in by members (not in messages_delivered)' },
  e2ee_decrypt_failed: { type: 'counter', unit: 'count', description: 'traffic.e2ee: received bodies that did not decrypt; e2ee_decrypt_failed{reason:X} by reason (the message then counts lost unless it comes again)' },
  data_sent: { type: 'counter', unit: 'bytes', description: 'message payload bytes sent' },
  // ---- rates
  delivery_success: { type: 'rate', unit: 'share', description: 'accepted messages delivered (lost ones count as failures at the end)' },
  send_success: { type: 'rate', unit: 'share', description: 'scheduled sends acknowledged by the target; failed, dropped and still-queued sends count against it' },
  reconnect_success: { type: 'rate', unit: 'share', description: 'reconnects that got the whole offline queue (DrainDone) in time' },
  // ---- gauges
  vus: { type: 'gauge', unit: 'count', description: 'VUs running an iteration' },
  vus_max: { type: 'gauge', unit: 'count', description: 'VUs allocated (pre-allocated + grown up to maxVUs)' },
  connections: { type: 'gauge', unit: 'count', description: 'connections open' },
  loadgen_cpu_percent: { type: 'gauge', unit: 'percent', description: 'load generator process CPU, % of one core' },
  // ---- set once at the end from the CONNECTIONS report (a run with an `idle` hold phase: connect-ramp)
  connects_per_s: { type: 'gauge', unit: 'count', description: 'connects/s through the whole system (upgrade, session, DrainDone), first connect -> last DrainDone' },
  loadgen_idle_cpu_percent_per_10k: { type: 'gauge', unit: 'percent', description: 'generator CPU while holding idle connections (the hold phase), % of one core per 10k connections' },
  loadgen_bytes_per_connection: { type: 'gauge', unit: 'bytes', description: 'generator RSS delta per connection held (end of the hold vs before the first connect)' },
  gateway_idle_cpu_percent_per_10k: { type: 'gauge', unit: 'percent', description: 'every gateway\'s CPU while holding idle connections, % of one core per 10k connections (system started by the run)' },
  gateway_bytes_per_connection: { type: 'gauge', unit: 'bytes', description: 'the gateways\' RSS delta per connection held (system started by the run)' },
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof METRICS;
export type TrendName = { [K in MetricName]: (typeof METRICS)[K]['type'] extends 'trend' ? K : never }[MetricName];
export type CounterName = { [K in MetricName]: (typeof METRICS)[K]['type'] extends 'counter' ? K : never }[MetricName];
export type RateName = { [K in MetricName]: (typeof METRICS)[K]['type'] extends 'rate' ? K : never }[MetricName];
export type GaugeName = { [K in MetricName]: (typeof METRICS)[K]['type'] extends 'gauge' ? K : never }[MetricName];

export function metricInfo(name: string): MetricInfo | undefined {
  // Own keys only: a threshold on "__proto__" or "toString" names no metric (the prototype's would).
  return Object.hasOwn(METRICS, name) ? (METRICS as Record<string, MetricInfo>)[name] : undefined;
}

export const TREND_NAMES = Object.keys(METRICS).filter((n) => metricInfo(n)!.type === 'trend') as TrendName[];
export const COUNTER_NAMES = Object.keys(METRICS).filter((n) => metricInfo(n)!.type === 'counter') as CounterName[];
export const RATE_NAMES = Object.keys(METRICS).filter((n) => metricInfo(n)!.type === 'rate') as RateName[];
export const GAUGE_NAMES = Object.keys(METRICS).filter((n) => metricInfo(n)!.type === 'gauge') as GaugeName[];

/** "delivery_latency{scenario:chat}" -> base name and tags. */
export function splitMetricName(full: string): { base: string; tags: Record<string, string> } {
  const brace = full.indexOf('{');
  if (brace < 0) return { base: full.trim(), tags: {} };
  if (!full.endsWith('}')) throw new Error(`metric "${full}": a tag set must end with "}"`);
  const tags: Record<string, string> = {};
  for (const part of full.slice(brace + 1, -1).split(',')) {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new Error(`metric "${full}": tags are written {name:value}`);
    tags[part.slice(0, colon).trim()] = part.slice(colon + 1).trim();
  }
  return { base: full.slice(0, brace).trim(), tags };
}

export function taggedName(base: string, scenario: string): string {
  return `${base}{scenario:${scenario}}`;
}
