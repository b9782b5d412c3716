// The E2EE report of a run with traffic.e2ee (the key-storm scenario's
// figures, docs/design/021-e2ee.md): prekey bundle fetches and their rate,
// first-message latency (a sender's first message to a peer: fetch, session
// start, encryption, delivery, decryption), what the generator saw of the
// one-time prekeys, and, when the run started the system, the key directory's
// own figures from the chat service's /metrics over the measured window
// (./key-directory-probe.ts). Built from the metrics aggregate and timeline,
// so a merge of shards gets the same generator side.
import type { MetricsAggregate } from '../metrics/aggregate';
import type { IntervalRecord } from './timeline';

/** The chat service's key directory over the measured window (summed over chat nodes). */
export interface KeyDirectoryFigures {
  /** wa_chat_key_fetches_total: fetches answered. */
  fetches: number;
  /** wa_chat_prekeys_handed_out_total. */
  prekeys_handed_out: number;
  /** wa_chat_key_uploads_total. */
  uploads: number;
  /** wa_chat_key_fetch_store_seconds_total / fetches: a take's start to its result (wall time), null without fetches. */
  store_ms_per_fetch: number | null;
  /** wa_chat_key_fetch_store_blocking_seconds_total / fetches: the part that held the chat service's event loop (SQLite: the transaction). */
  store_blocking_ms_per_fetch: number | null;
}

export interface E2eeReport {
  key_uploads: number;
  key_fetches: number;
  /** Fetches over the measured window, over the storm (first to last interval with a fetch), and in the busiest interval. */
  key_fetches_per_s_window: number;
  key_fetches_per_s_storm: number;
  key_fetches_per_s_peak: number;
  /** Seconds from the start of the first interval with a fetch to the end of the last. */
  storm_s: number;
  /** e2ee_first_message_latency: scheduled send of a first message to a peer -> delivered and decrypted there. */
  first_messages: number;
  first_message_p50_ms: number | null;
  first_message_p99_ms: number | null;
  first_message_max_ms: number | null;
  prekeys_reused: number;
  bundles_without_prekey: number;
  decrypt_failed: number;
  /** From the chat service's /metrics; null when the run did not start the system (a --target). */
  key_directory: KeyDirectoryFigures | null;
}

/** The E2EE report, or null when the run had no key traffic. */
export function e2eeReport(agg: MetricsAggregate, timeline: readonly IntervalRecord[], intervalMs: number): E2eeReport | null {
  const uploads = agg.counter('e2ee_key_uploads');
  const fetches = agg.counter('e2ee_key_fetches');
  if (uploads === 0 && fetches === 0) return null;
  const perInterval = timeline.map((r) => r.counters.e2ee_key_fetches ?? 0);
  const first = perInterval.findIndex((n) => n > 0);
  let last = perInterval.length - 1;
  while (last > first && perInterval[last] === 0) last--;
  const stormS = first < 0 ? 0 : ((last - first + 1) * intervalMs) / 1000;
  const lat = agg.trends.get('e2ee_first_message_latency');
  const has = lat !== undefined && lat.count > 0;
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    key_uploads: uploads,
    key_fetches: fetches,
    key_fetches_per_s_window: agg.durationMs > 0 ? round(fetches / (agg.durationMs / 1000)) : 0,
    key_fetches_per_s_storm: stormS > 0 ? round(fetches / stormS) : 0,
    key_fetches_per_s_peak: round(Math.max(0, ...perInterval) / (intervalMs / 1000)),
    storm_s: stormS,
    first_messages: has ? lat.count : 0,
    first_message_p50_ms: has ? lat.percentileMs(50) : null,
    first_message_p99_ms: has ? lat.percentileMs(99) : null,
    first_message_max_ms: has ? lat.h.maxValue / 1000 : null,
    prekeys_reused: agg.counter('e2ee_prekeys_reused'),
    bundles_without_prekey: agg.counter('e2ee_bundles_without_prekey'),
    decrypt_failed: agg.counter('e2ee_decrypt_failed'),
    key_directory: null,
  };
}
