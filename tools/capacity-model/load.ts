// The load a fleet model implies, at the busiest hour unless a name says
// `_avg`: sends, deliveries per device, receipts, offline-queue writes,
// presence, heartbeats, bytes on the wire, bytes at rest, store writes, Redis
// operations and concurrent connections. Pure arithmetic on the model; the
// omissions table and the fleet projection both read from here, so the two
// can never disagree.
//
// Envelope, at the seed's load with the default assumptions (per send):
//   recipients 0.7*1 + 0.3*7 = 2.8 users -> 2.8*1.3 + 0.3 (sender's own devices) = 3.94 device deliveries,
//   wire bytes per delivery 100 body + 40 envelope + 58 e2e + 80 frame = 278 B.
import type { FleetModel } from './fleet-model';
import { BITS_PER_BYTE, BYTES_PER_GIB, SECONDS_PER_DAY, SECONDS_PER_HOUR } from './units';

export interface Load {
  // ---- messages
  sends_per_s_avg: number;
  sends_per_s_peak: number;
  /** Users a send reaches, mean over 1:1 and group sends. */
  recipients_per_send_mean: number;
  /** Device copies per send: each recipient device, plus the sender's other devices. */
  device_deliveries_per_send: number;
  device_deliveries_per_s_peak: number;
  /** On-the-wire bytes of one message frame: body + envelope + e2e + frame overhead. */
  message_wire_bytes: number;
  message_ingress_bytes_per_s_peak: number;
  message_egress_bytes_per_s_peak: number;
  // ---- receipts
  /** Receipt frames from recipients to the server. */
  receipt_frames_in_per_s_peak: number;
  /** Receipt frames from the server to the sender's devices. */
  receipt_frames_out_per_s_peak: number;
  receipt_bytes_per_s_peak: number;
  // ---- offline queues
  offline_queue_writes_per_s_peak: number;
  offline_queue_deletes_per_s_peak: number;
  // ---- presence and heartbeats
  connections_peak: number;
  presence_changes_per_s_peak: number;
  presence_notifications_per_s_peak: number;
  presence_bytes_per_s_peak: number;
  heartbeat_frames_per_s_peak: number;
  heartbeat_bytes_per_s_peak: number;
  // ---- totals through the gateways (client-facing)
  gateway_ingress_bytes_per_s_peak: number;
  gateway_egress_bytes_per_s_peak: number;
  /**
   * Gateway work in 1:1-message equivalents: every device delivery counted as a whole 1:1 message
   * (ingress, sent ack, delivery, receipts: what the measured runs carry per message), plus presence
   * notifications. Conservative for groups, where one ingress feeds many deliveries.
   */
  gateway_msg_equivalents_per_s_peak: number;
  /** Chat-service work in the same unit: every device delivery as a 1:1 message. */
  chat_msg_equivalents_per_s_peak: number;
  // ---- media
  media_uploads_per_s_avg: number;
  media_uploads_per_s_peak: number;
  media_upload_bytes_per_s_peak: number;
  media_download_bytes_per_s_peak: number;
  // ---- storage
  stored_message_bytes: number;
  message_store_logical_bytes_per_day: number;
  message_store_physical_bytes_per_day: number;
  /** Message store on disk across the fleet at the retention horizon. */
  message_store_physical_bytes_standing: number;
  media_store_physical_bytes_per_day: number;
  media_store_physical_bytes_standing: number;
  user_data_physical_bytes: number;
  // ---- writes
  message_row_writes_per_s_peak: number;
  watermark_writes_per_s_peak: number;
  /** Rows written per second at the peak, one replica. */
  store_writes_per_s_peak: number;
  /** The same times the replication factor: what the store nodes together absorb. */
  store_replica_writes_per_s_peak: number;
  /** One-time prekeys taken per second at the peak: one per device of each fetched user (one LWT each on ScyllaDB). */
  prekey_takes_per_s_peak: number;
  // ---- Redis
  /** Route lookups per device delivery + one write per presence change + one route TTL refresh per connection per heartbeat interval. */
  redis_ops_per_s_peak: number;
  redis_route_bytes: number;
  gateway_connection_memory_bytes_per_node: number;
}

export function deriveLoad(m: FleetModel): Load {
  const peak = m.peak_to_average_ratio;
  const sends_per_s_avg = m.messages_per_day / SECONDS_PER_DAY;
  const sends_per_s_peak = sends_per_s_avg * peak;

  const recipients_per_send_mean = (1 - m.group_message_share) * 1 + m.group_message_share * (m.group_members_mean - 1);
  const device_deliveries_per_send = recipients_per_send_mean * m.devices_per_user + (m.devices_per_user - 1);
  const device_deliveries_per_s_peak = sends_per_s_peak * device_deliveries_per_send;

  const message_wire_bytes = m.message_bytes + m.envelope_bytes_per_message + m.e2e_overhead_bytes_per_message + m.frame_overhead_bytes;
  const message_ingress_bytes_per_s_peak = sends_per_s_peak * message_wire_bytes;
  const message_egress_bytes_per_s_peak = device_deliveries_per_s_peak * message_wire_bytes;

  const receipt_wire_bytes = m.receipt_bytes + m.frame_overhead_bytes;
  const receipt_frames_in_per_s_peak = (sends_per_s_peak * recipients_per_send_mean * m.receipts_per_recipient) / m.messages_per_receipt_frame;
  const receipt_frames_out_per_s_peak = receipt_frames_in_per_s_peak * m.devices_per_user;
  const receipt_bytes_per_s_peak = (receipt_frames_in_per_s_peak + receipt_frames_out_per_s_peak) * receipt_wire_bytes;

  const offline_queue_writes_per_s_peak = device_deliveries_per_s_peak * m.offline_delivery_share;

  const connections_peak = m.users * m.devices_per_user * m.online_device_share_peak;
  const presence_changes_per_s_peak = (m.users * m.presence_changes_per_user_per_hour) / SECONDS_PER_HOUR;
  const presence_notifications_per_s_peak = presence_changes_per_s_peak * m.presence_watchers_per_change;
  const presence_bytes_per_s_peak = presence_notifications_per_s_peak * (m.presence_bytes + m.frame_overhead_bytes);
  const heartbeat_frames_per_s_peak = (2 * connections_peak) / m.heartbeat_interval_s; // ping + pong
  const heartbeat_bytes_per_s_peak = heartbeat_frames_per_s_peak * m.frame_overhead_bytes;

  const gateway_ingress_bytes_per_s_peak =
    message_ingress_bytes_per_s_peak + receipt_frames_in_per_s_peak * receipt_wire_bytes + heartbeat_bytes_per_s_peak / 2;
  const gateway_egress_bytes_per_s_peak =
    message_egress_bytes_per_s_peak + receipt_frames_out_per_s_peak * receipt_wire_bytes + presence_bytes_per_s_peak + heartbeat_bytes_per_s_peak / 2;

  const media_uploads_per_s_avg = m.media_per_day / SECONDS_PER_DAY;
  const media_uploads_per_s_peak = media_uploads_per_s_avg * peak;
  const media_upload_bytes_per_s_peak = media_uploads_per_s_peak * m.media_bytes;
  const media_download_bytes_per_s_peak = media_upload_bytes_per_s_peak * recipients_per_send_mean * m.media_downloads_per_recipient;

  const stored_message_bytes = m.message_bytes + m.e2e_overhead_bytes_per_message + m.store_row_overhead_bytes;
  const message_store_logical_bytes_per_day = m.messages_per_day * stored_message_bytes;
  const message_store_physical_bytes_per_day = message_store_logical_bytes_per_day * m.replication_factor * m.compaction_space_amplification;
  const media_store_physical_bytes_per_day = m.media_per_day * m.media_bytes * m.media_storage_redundancy;

  const message_row_writes_per_s_peak = sends_per_s_peak; // one stored row per send, groups included
  const watermark_writes_per_s_peak = receipt_frames_in_per_s_peak; // each receipt moves one per-user-per-chat watermark
  const store_writes_per_s_peak =
    message_row_writes_per_s_peak + 2 * offline_queue_writes_per_s_peak + watermark_writes_per_s_peak; // queue insert + delete

  return {
    sends_per_s_avg,
    sends_per_s_peak,
    recipients_per_send_mean,
    device_deliveries_per_send,
    device_deliveries_per_s_peak,
    message_wire_bytes,
    message_ingress_bytes_per_s_peak,
    message_egress_bytes_per_s_peak,
    receipt_frames_in_per_s_peak,
    receipt_frames_out_per_s_peak,
    receipt_bytes_per_s_peak,
    offline_queue_writes_per_s_peak,
    offline_queue_deletes_per_s_peak: offline_queue_writes_per_s_peak,
    connections_peak,
    presence_changes_per_s_peak,
    presence_notifications_per_s_peak,
    presence_bytes_per_s_peak,
    heartbeat_frames_per_s_peak,
    heartbeat_bytes_per_s_peak,
    gateway_ingress_bytes_per_s_peak,
    gateway_egress_bytes_per_s_peak,
    gateway_msg_equivalents_per_s_peak: device_deliveries_per_s_peak + presence_notifications_per_s_peak,
    chat_msg_equivalents_per_s_peak: device_deliveries_per_s_peak,
    media_uploads_per_s_avg,
    media_uploads_per_s_peak,
    media_upload_bytes_per_s_peak,
    media_download_bytes_per_s_peak,
    stored_message_bytes,
    message_store_logical_bytes_per_day,
    message_store_physical_bytes_per_day,
    message_store_physical_bytes_standing: message_store_physical_bytes_per_day * m.message_retention_days,
    media_store_physical_bytes_per_day,
    media_store_physical_bytes_standing: media_store_physical_bytes_per_day * m.media_retention_days,
    user_data_physical_bytes: m.users * m.user_record_bytes * m.replication_factor,
    message_row_writes_per_s_peak,
    watermark_writes_per_s_peak,
    store_writes_per_s_peak,
    store_replica_writes_per_s_peak: store_writes_per_s_peak * m.replication_factor,
    prekey_takes_per_s_peak: ((m.users * m.prekey_fetches_per_user_per_day) / SECONDS_PER_DAY) * peak * m.devices_per_user,
    redis_ops_per_s_peak: device_deliveries_per_s_peak * m.redis_ops_per_delivery + presence_changes_per_s_peak + heartbeat_frames_per_s_peak / 2,
    redis_route_bytes: connections_peak * m.redis_bytes_per_route_entry,
    gateway_connection_memory_bytes_per_node: m.gateway_connection_memory_gib * BYTES_PER_GIB,
  };
}

export const toBits = (bytesPerS: number): number => bytesPerS * BITS_PER_BYTE;
