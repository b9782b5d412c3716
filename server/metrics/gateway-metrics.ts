// The gateway's metrics. Everything except the delivery-latency histogram is
// read at scrape time from counters the gateway keeps as plain numbers anyway,
// so the per-message cost is one `n++` per frame and, per delivered message,
// one FastHistogram observation (~20 ns) made in the once-per-turn flush.
//
// Envelope per delivered message: 2 array pushes when queued (receipt time and
// socket), 1 observation when flushed; per flush: 1 monotonic clock read.
import type { Registry } from 'prom-client';
import { ErrorCode } from '../common/errors';
import { FastHistogram } from './fast-histogram';
import { BATCH_BUCKETS, CallbackMetric, DELIVERY_BUCKETS_SECONDS, labelled } from './registry';

/** Client frame kinds as counted at the edge ('invalid': failed to decode or validate). */
export const CLIENT_FRAME_TYPES = [
  'send', 'ack', 'history', 'presence_subscribe', 'ping', 'create_group', 'group_change', 'group_info', 'message_info', 'set_privacy', 'keys_upload', 'key_bundle_request', 'invalid',
] as const;
export type ClientFrameKind = (typeof CLIENT_FRAME_TYPES)[number];

/** Why the gateway refused something: protocol error codes plus the edge's own reasons. */
export const GATEWAY_ERROR_REASONS = [
  ...Object.values(ErrorCode), 'BAD_TOKEN', 'TEXT_FRAME', 'MESSAGE_TOO_BIG', 'BACKPRESSURE', 'DRAINING',
] as const;

/** What the metrics read from the gateway (structural: no import of the gateway module). */
export interface GatewayMetricsSource {
  stats: {
    connections: number;
    connectionsClosed: number;
    framesIn: number;
    framesOut: number;
    framesByType: Readonly<Record<string, number>>;
    wsMessagesIn: number;
    wsMessagesOut: number;
    bytesIn: number;
    bytesOut: number;
    rejected: Readonly<Record<string, number>>;
  };
  openConnections(): number;
  connectedUsers(): number;
  chatLinkUp(): boolean;
  chatLink(): { batchesSent: number; itemsSent: number };
  /** Media over HTTP (server/gateway/media-endpoint.ts); null when the gateway serves no media routes. */
  media(): { stats: GatewayMediaStats; uploadsOpen: number } | null;
}

/** The media endpoint's plain counters (MediaEndpoint.stats). */
export interface GatewayMediaStats {
  uploadBytes: number;
  downloadBytes: number;
  uploadsCompleted: number;
  uploadsDeduplicated: number;
  downloads: number;
  refusals: number;
}

export class GatewayMetrics {
  /** Gateway receipt of a send (its recv_at_us) -> the delivery frame written to the recipient's socket. */
  readonly deliveryLatency: FastHistogram;
  /** Items per ChatBatch received from the chat service. */
  readonly chatBatchItems: FastHistogram;

  constructor(registry: Registry, src: () => GatewayMetricsSource) {
    this.deliveryLatency = new FastHistogram({
      name: 'wa_gateway_delivery_latency_seconds',
      help: 'Server-side delivery latency: a send received by a gateway -> the message frame written to the recipient socket (one sample per recipient connection)',
      buckets: DELIVERY_BUCKETS_SECONDS, registry,
    });
    this.chatBatchItems = new FastHistogram({
      name: 'wa_gateway_grpc_received_batch_items',
      help: 'Items per gRPC stream message received from the chat service (the micro-batch size)',
      buckets: BATCH_BUCKETS, registry,
    });
    const s = () => src().stats;
    const counter = (name: string, help: string, read: () => number | [Record<string, string>, number][]) =>
      new CallbackMetric({ name, help, type: 'counter', read, registry });
    const gauge = (name: string, help: string, read: () => number) => new CallbackMetric({ name, help, type: 'gauge', read, registry });

    gauge('wa_gateway_connections', 'Open client WebSocket connections', () => src().openConnections());
    gauge('wa_gateway_connected_users', 'Distinct users with at least one open connection on this gateway', () => src().connectedUsers());
    gauge('wa_gateway_chat_link_up', '1 when the gRPC stream to the chat service is up', () => (src().chatLinkUp() ? 1 : 0));
    counter('wa_gateway_connections_opened_total', 'WebSocket connections accepted (token verified)', () => s().connections);
    counter('wa_gateway_connections_closed_total', 'WebSocket connections closed, by either side', () => s().connectionsClosed);
    counter('wa_gateway_frames_received_total', 'Client frames received, by frame type (invalid: failed to decode or validate)',
      () => labelled('type', CLIENT_FRAME_TYPES, s().framesByType));
    counter('wa_gateway_frames_sent_total', 'Server frames written to client sockets', () => s().framesOut);
    counter('wa_gateway_ws_messages_received_total', 'WebSocket messages received (each a batch of client frames)', () => s().wsMessagesIn);
    counter('wa_gateway_ws_messages_sent_total', 'WebSocket messages written (frames coalesced per socket per event-loop turn)', () => s().wsMessagesOut);
    counter('wa_gateway_received_bytes_total', 'WebSocket payload bytes received from clients', () => s().bytesIn);
    counter('wa_gateway_sent_bytes_total', 'WebSocket payload bytes written to clients', () => s().bytesOut);
    counter('wa_gateway_errors_total', 'Frames, upgrades or sockets the gateway refused or closed, by reason (error code or edge reason)',
      () => labelled('reason', GATEWAY_ERROR_REASONS, s().rejected));
    counter('wa_gateway_grpc_sent_batches_total', 'gRPC stream messages sent to the chat service', () => src().chatLink().batchesSent);
    counter('wa_gateway_grpc_sent_items_total', 'Items sent to the chat service over the gRPC stream', () => src().chatLink().itemsSent);
    // Media (issue 19): the same counters /healthz shows, 0 on a gateway without media routes.
    const m = (k: keyof GatewayMediaStats) => () => src().media()?.stats[k] ?? 0;
    counter('wa_gateway_media_upload_bytes_total', 'Media ciphertext bytes received in upload chunks that were accepted', m('uploadBytes'));
    counter('wa_gateway_media_download_bytes_total', 'Media ciphertext bytes written to downloading clients', m('downloadBytes'));
    counter('wa_gateway_media_uploads_completed_total', 'Media uploads completed (hash verified, stored)', m('uploadsCompleted'));
    counter('wa_gateway_media_uploads_deduplicated_total', 'Completed media uploads whose ciphertext was stored already (no bytes written)', m('uploadsDeduplicated'));
    counter('wa_gateway_media_downloads_total', 'Media downloads served to their last byte', m('downloads'));
    counter('wa_gateway_media_refusals_total', 'Media requests refused (authorization, limits, bad input, expired)', m('refusals'));
    gauge('wa_gateway_media_uploads_active', 'Media upload sessions open on this gateway', () => src().media()?.uploadsOpen ?? 0);
  }
}
