// The chat service's metrics. Histograms are observed once per tick or once
// per gRPC stream message (never per message); everything else is read at
// scrape time from the engine's own counters and state.
import type { Registry } from 'prom-client';
import { ErrorCode } from '../common/errors';
import { FastHistogram, type HistogramSeries } from './fast-histogram';
import { BATCH_BUCKETS, CallbackMetric, labelled, STEP_BUCKETS_SECONDS } from './registry';

export const CHAT_ERROR_REASONS = Object.values(ErrorCode);
export const GRPC_DIRECTIONS = ['gateway_to_chat', 'chat_to_gateway'] as const;

/** What the metrics read from the chat service (structural: no import of the engine). */
export interface ChatMetricsSource {
  stats: {
    ticks: number;
    messagesStored: number;
    sendsDirect: number;
    sendsGroup: number;
    sendsRejected: number;
    duplicatesSuppressed: number;
    deliveriesLive: number;
    deliveriesReplayed: number;
    drainsCompleted: number;
    presenceOnline: number;
    presenceOffline: number;
    presenceUpdatesSent: number;
    keyUploads: number;
    keyFetches: number;
    prekeysHandedOut: number;
    keyFetchStoreSeconds: number;
    keyFetchStoreBlockingSeconds: number;
    errors: Readonly<Record<string, number>>;
  };
  onlineUsers(): number;
  gatewayLinks(): number;
  offlineQueue(): { users: number; messages: number };
  drains(): { active: number; queued: number };
}

/** The per-batch observation points handed to the gRPC server and the engine. */
export interface ChatHotMetrics {
  grpcBatchItemsIn: HistogramSeries;
  grpcBatchItemsOut: HistogramSeries;
  grpcHopLatency: HistogramSeries;
  tickDuration: HistogramSeries;
  tickEvents: HistogramSeries;
}

export class ChatMetrics {
  readonly hot: ChatHotMetrics;

  constructor(registry: Registry, src: () => ChatMetricsSource) {
    const items = new FastHistogram<(typeof GRPC_DIRECTIONS)[number]>({
      name: 'wa_chat_grpc_batch_items',
      help: 'Items per gRPC stream message between gateways and this chat service, by direction (the micro-batch size)',
      buckets: BATCH_BUCKETS, label: { name: 'direction', values: GRPC_DIRECTIONS }, registry,
    });
    const hop = new FastHistogram({
      name: 'wa_chat_grpc_hop_latency_seconds',
      help: 'gRPC hop latency gateway -> chat service: batch written by the gateway -> received here (monotonic clocks, same machine)',
      buckets: STEP_BUCKETS_SECONDS, registry,
    });
    const tick = new FastHistogram({
      name: 'wa_chat_tick_duration_seconds',
      help: 'One engine tick: decode, validate, store commit, emit (the chat service turn)',
      buckets: STEP_BUCKETS_SECONDS, registry,
    });
    const events = new FastHistogram({
      name: 'wa_chat_tick_events',
      help: 'Inbound events (frames, connects, disconnects) handled by one engine tick',
      buckets: BATCH_BUCKETS, registry,
    });
    this.hot = {
      grpcBatchItemsIn: items.child('gateway_to_chat'),
      grpcBatchItemsOut: items.child('chat_to_gateway'),
      grpcHopLatency: hop.unlabelled,
      tickDuration: tick.unlabelled,
      tickEvents: events.unlabelled,
    };

    const s = () => src().stats;
    const counter = (name: string, help: string, read: () => number | [Record<string, string>, number][]) =>
      new CallbackMetric({ name, help, type: 'counter', read, registry });
    const gauge = (name: string, help: string, read: () => number) => new CallbackMetric({ name, help, type: 'gauge', read, registry });

    counter('wa_chat_ticks_total', 'Engine ticks run', () => s().ticks);
    counter('wa_chat_sends_total', 'Send frames handled, by outcome (stored, duplicate: a retry of a stored client_msg_id, rejected: error frame)',
      () => [[{ outcome: 'stored' }, s().sendsDirect + s().sendsGroup], [{ outcome: 'duplicate' }, s().duplicatesSuppressed],
        [{ outcome: 'rejected' }, s().sendsRejected]]);
    counter('wa_chat_messages_stored_total', 'Messages committed to the store, by kind (direct, group, system: group membership events)',
      () => [[{ kind: 'direct' }, s().sendsDirect], [{ kind: 'group' }, s().sendsGroup],
        [{ kind: 'system' }, Math.max(0, s().messagesStored - s().sendsDirect - s().sendsGroup)]]);
    counter('wa_chat_deliveries_total', 'Message deliveries handed to gateways, by delivery (live; replay: offline-queue drain)',
      () => [[{ delivery: 'live' }, s().deliveriesLive], [{ delivery: 'replay' }, s().deliveriesReplayed]]);
    counter('wa_chat_drains_completed_total', 'Offline-queue drains finished (DrainDone sent)', () => s().drainsCompleted);
    counter('wa_chat_presence_changes_total', 'Users coming online or going offline, by state',
      () => [[{ state: 'online' }, s().presenceOnline], [{ state: 'offline' }, s().presenceOffline]]);
    counter('wa_chat_presence_updates_sent_total', 'Presence frames sent to watchers', () => s().presenceUpdatesSent);
    counter('wa_chat_key_uploads_total', 'Key directory uploads stored (registrations, one-time prekey refills, signed prekey rotations)', () => s().keyUploads);
    counter('wa_chat_key_fetches_total', 'Key directory bundle fetches answered (one bundle per device of the fetched user)', () => s().keyFetches);
    counter('wa_chat_prekeys_handed_out_total', 'One-time prekeys handed out by bundle fetches, each to exactly one fetcher', () => s().prekeysHandedOut);
    counter('wa_chat_key_fetch_store_seconds_total', 'Wall time from the start of each answered key fetch\'s store take to its result (divide by wa_chat_key_fetches_total: per fetch)',
      () => s().keyFetchStoreSeconds);
    counter('wa_chat_key_fetch_store_blocking_seconds_total', 'The part of those takes that held the event loop (SQLite: the whole transaction; CQL: sending the request)',
      () => s().keyFetchStoreBlockingSeconds);
    counter('wa_chat_errors_total', 'Error frames sent to clients by the chat service, by error code',
      () => labelled('reason', CHAT_ERROR_REASONS, s().errors));
    gauge('wa_chat_online_users', 'Users with at least one connection, across all gateways', () => src().onlineUsers());
    gauge('wa_chat_gateway_links', 'Gateways connected over the gRPC stream', () => src().gatewayLinks());
    gauge('wa_chat_offline_queue_messages', 'Undelivered 1:1 messages queued for users who are offline (in-memory count of known users)',
      () => src().offlineQueue().messages);
    gauge('wa_chat_offline_queue_users', 'Offline users with undelivered 1:1 messages', () => src().offlineQueue().users);
    gauge('wa_chat_drains_active', 'Offline-queue drains running (bounded by drain_concurrent_max)', () => src().drains().active);
    gauge('wa_chat_drains_queued', 'Reconnected users waiting for a drain slot', () => src().drains().queued);
  }
}
