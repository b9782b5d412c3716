// Prometheus remote write (`loadgen run --remote-write <url>`): once per
// interval, the run's series are pushed to a Prometheus (or anything speaking
// remote write 1.0: protobuf WriteRequest, snappy block, POST), so a
// Prometheus on another host sees a generator it could never scrape. Every
// series carries run_id (pick a run in the dashboards), scenario and shard;
// which series, see ./remote-write-series.ts (counters, rates, gauges, trends
// as interval quantiles, the schedule, executor phases and fault windows).
//
// Sample timestamps are the wall clock when an interval completes, kept
// strictly increasing: intervals flushed together at the end of a run would
// otherwise share a millisecond, and Prometheus refuses a second sample of a
// series at the same timestamp (the whole batch would be dropped).
//
// Envelope: ~60 series a second, ~4 KB a request; one request in flight.
// Batches wait in a bounded queue (REMOTE_WRITE_LIMITS.queue_batches_max);
// when it is full the oldest batch is dropped and counted, a refused batch
// (4xx but 429) is dropped and counted, a failing one is retried a bounded
// number of times, then dropped and counted. Drops are never silent: logged
// when they start and written into the summary's warnings at the end.
import type { Output } from '../engine/output';
import type { RunSummary } from '../engine/summary';
import type { Segment } from '../model/segments';
import { encodeWriteRequest, type RwSeries } from './remote-write-proto';
import { REMOTE_WRITE_LIMITS } from './remote-write-limits';
import { seriesOf } from './remote-write-series';
import { snappyEncodeLiteral } from './snappy-block';

export interface RemoteWriteStats {
  requests_ok: number;
  samples_sent: number;
  samples_dropped: number;
  /** Why samples were dropped, by reason (queue full, refused with status N, failed after retries). */
  dropped_by_reason: Record<string, number>;
}

interface Batch {
  body: Buffer;
  samples: number;
  attempts: number;
}

/** Checks --remote-write: an http(s) URL of bounded length (remote targets are allowed: the tests only use loopback). */
export function parseRemoteWriteUrl(text: string): URL {
  if (text.length > REMOTE_WRITE_LIMITS.url_chars_max) throw new Error(`--remote-write: a URL of at most ${REMOTE_WRITE_LIMITS.url_chars_max} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`--remote-write: not a URL: ${JSON.stringify(text.slice(0, 80))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--remote-write: http:// or https:// (got ${url.protocol})`);
  if (url.username || url.password) throw new Error('--remote-write: no credentials in the URL (they would be logged)');
  return url;
}

/** The run's id without a shard suffix (`--procs` children are `<id>-shard2of4`): shards of one run share run_id; `shard` tells them apart. */
export function runIdLabel(runId: string): string {
  return runId.replace(/-shard\d+of\d+$/, '');
}

export function remoteWriteOutput(url: URL, log: (line: string) => void, limits: typeof REMOTE_WRITE_LIMITS = REMOTE_WRITE_LIMITS): Output & { stats: RemoteWriteStats } {
  const stats: RemoteWriteStats = { requests_ok: 0, samples_sent: 0, samples_dropped: 0, dropped_by_reason: {} };
  const queue: Batch[] = [];
  let base: Record<string, string> = {};
  /** This process's part of the plan (--shard, --procs): each pushes its share of the schedule. */
  let share: { shards: number; segments?: readonly Segment[] } = { shards: 1 };
  let lastTimestampMs = 0;
  /** start() not called: a --procs parent, whose shards push their own series; it has nothing to add. */
  let started = false;
  let sending: Promise<void> | null = null;
  let warned = false;
  /** Set when end() gave up waiting: a late answer is then neither sent nor dropped twice. */
  let closed = false;
  const L = limits;

  const drop = (b: Batch, reason: string) => {
    stats.samples_dropped += b.samples;
    stats.dropped_by_reason[reason] = (stats.dropped_by_reason[reason] ?? 0) + b.samples;
    if (!warned) log(`remote write: dropping samples (${reason}); the total is in the summary's warnings`);
    warned = true;
  };

  /** One POST; true when the batch is done with (sent or dropped), false to retry it. */
  const post = async (b: Batch): Promise<boolean> => {
    try {
      const res = await fetch(url, {
        method: 'POST', body: b.body, signal: AbortSignal.timeout(L.request_timeout_ms),
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy', 'X-Prometheus-Remote-Write-Version': '0.1.0', 'User-Agent': 'wa-loadgen' },
      });
      const text = (await res.text()).slice(0, L.error_chars_max);
      if (closed) return true;
      if (res.ok) {
        stats.requests_ok++;
        stats.samples_sent += b.samples;
        return true;
      }
      // 4xx but 429: the receiver will never take this batch (bad labels, out of order); retrying only delays the next.
      if (res.status >= 400 && res.status < 500 && res.status !== 429) {
        drop(b, `refused with ${res.status}: ${text.trim()}`);
        return true;
      }
    } catch {
      // Network error or timeout: retried below.
    }
    if (closed) return true;
    if (++b.attempts > L.retries_max) {
      drop(b, 'failed after retries');
      return true;
    }
    return false;
  };

  const pump = async () => {
    while (queue.length > 0 && !closed) {
      const b = queue[0]!;
      if (await post(b)) queue.shift();
      else await new Promise((r) => setTimeout(r, L.retry_backoff_ms * b.attempts).unref());
    }
    sending = null;
  };

  const enqueue = (series: RwSeries[]) => {
    if (series.length === 0) return;
    const samples = series.reduce((a, s) => a + s.samples.length, 0);
    const b: Batch = { body: snappyEncodeLiteral(encodeWriteRequest(series)), samples, attempts: 0 };
    // The head may be in flight: drop the oldest waiting one after it.
    if (queue.length >= L.queue_batches_max) drop(queue.splice(1, 1)[0]!, 'queue full');
    queue.push(b);
    sending ??= pump();
  };

  return {
    name: 'remote-write',
    stats,
    start(ctx) {
      const shard = ctx.shard ? `${ctx.shard.index + 1}/${ctx.shard.count}` : '1/1';
      base = { job: 'wa-loadgen', run_id: runIdLabel(ctx.runId), scenario: ctx.plan.scenario, shard };
      share = { shards: ctx.shard?.count ?? 1, segments: ctx.segments };
      started = true;
      log(`remote write: ${url.origin}${url.pathname} (run_id="${base.run_id}")`);
    },
    interval(live) {
      lastTimestampMs = Math.max(Date.now(), lastTimestampMs + 1);
      enqueue(seriesOf(live, base, lastTimestampMs, share));
    },
    async end(summary: RunSummary) {
      if (!started) return;
      // Flush what is queued, for a bounded time; what is left is dropped and counted.
      const deadline = Date.now() + L.flush_timeout_ms;
      while (sending && Date.now() < deadline) await Promise.race([sending, new Promise((r) => setTimeout(r, 50).unref())]);
      closed = true;
      for (const b of queue.splice(0)) drop(b, 'not sent by the end of the run');
      log(`remote write: ${stats.samples_sent} samples in ${stats.requests_ok} requests, ${stats.samples_dropped} dropped`);
      if (stats.samples_dropped > 0) {
        summary.loadgen.warnings.push(`remote write dropped ${stats.samples_dropped} of ${stats.samples_sent + stats.samples_dropped} samples: ` +
          Object.entries(stats.dropped_by_reason).map(([r, n]) => `${n} ${r}`).join('; '));
      }
    },
  };
}
