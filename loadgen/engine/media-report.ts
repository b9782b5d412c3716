// The media report of a run (traffic.mediaShare > 0): the media accounting
// (loadgen/world/media-sends.ts) checked to add up, scheduled = verified +
// failed + dropped + queued_at_end, the bytes moved and their rate over the
// measured window, and media_latency's percentiles. Built from the metrics
// aggregate, so a merge of shards gets the same report.
import type { MetricsAggregate } from '../metrics/aggregate';

export interface MediaReport {
  scheduled: number;
  uploaded: number;
  verified: number;
  failed: number;
  /** Failures by reason: upload_<status>, upload_timeout, message_<send failure>, download_<status>, integrity, ... */
  failed_by_reason: Record<string, number>;
  dropped: number;
  queued_at_end: number;
  /** Unfinished at the end by stage: uploading, undelivered, downloading. */
  queued_by_stage: Record<string, number>;
  /** Ciphertext bytes of completed uploads and of verified downloads. */
  bytes_up: number;
  bytes_down: number;
  /** Over the measured window, MB = 10^6 bytes. */
  up_mb_per_s: number;
  down_mb_per_s: number;
  /** Scheduled send time -> downloaded and verified by the recipient. */
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  latency_max_ms: number | null;
  adds_up: boolean;
}

function byLabel(agg: MetricsAggregate, base: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const prefix = `${base}{${label}:`;
  for (const [name, n] of agg.counters) if (name.startsWith(prefix)) out[name.slice(prefix.length, -1)] = n;
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, n) => a + n, 0);

/** The media report, or null when the run scheduled no media sends. */
export function mediaReport(agg: MetricsAggregate): MediaReport | null {
  const scheduled = agg.counter('media_scheduled');
  if (scheduled === 0) return null;
  const seconds = agg.durationMs > 0 ? agg.durationMs / 1000 : NaN;
  const lat = agg.trends.get('media_latency');
  const has = lat !== undefined && lat.count > 0;
  const r = {
    scheduled, uploaded: agg.counter('media_uploaded'), verified: agg.counter('media_verified'),
    failed: agg.counter('media_failed'), failed_by_reason: byLabel(agg, 'media_failed', 'reason'),
    dropped: agg.counter('media_dropped'), queued_at_end: agg.counter('media_queued_at_end'),
    queued_by_stage: byLabel(agg, 'media_queued_at_end', 'stage'),
    bytes_up: agg.counter('media_bytes_up'), bytes_down: agg.counter('media_bytes_down'),
  };
  return {
    ...r,
    up_mb_per_s: r.bytes_up / 1e6 / seconds,
    down_mb_per_s: r.bytes_down / 1e6 / seconds,
    latency_p50_ms: has ? lat.percentileMs(50) : null,
    latency_p99_ms: has ? lat.percentileMs(99) : null,
    latency_max_ms: has ? lat.h.maxValue / 1000 : null,
    adds_up: r.scheduled === r.verified + r.failed + r.dropped + r.queued_at_end &&
      sum(r.failed_by_reason) === r.failed && sum(r.queued_by_stage) === r.queued_at_end,
  };
}
