// What the seed's estimate leaves out, each with its size under the model:
// the seed's figure (or "not counted"), ours, the factor between them, how we
// got it and which parameters to change to argue with it.
import type { FleetModel, FleetParameter } from './fleet-model';
import type { Load } from './load';
import type { Measurements } from './measured';
import { checkSeed } from './seed';
import {
  BITS_PER_BYTE,
  BYTES_PER_GIB,
  DAYS_PER_YEAR,
  formatBitsPerS,
  formatBytes,
  formatBytesPerS,
  formatNumber,
  formatSi,
} from './units';

export interface OmissionRow {
  id: string;
  title: string;
  /** What the seed says about it ("not counted" when nothing). */
  seed_says: string;
  /** Our figure in base units (NaN when it needs a measurement that is missing). */
  value: number;
  unit: string;
  value_text: string;
  /** Our figure over the seed's comparable figure; null when the seed has none. */
  factor_vs_seed: number | null;
  formula: string;
  parameters: FleetParameter[];
}

export function listOmissions(m: FleetModel, load: Load, measured: Measurements): OmissionRow[] {
  const checked = checkSeed(m);
  // Factors are taken against the recomputed figures (exact arithmetic); the "seed" column quotes the seed's own.
  const seed = Object.fromEntries(checked.map((r) => [r.id, r.recomputed_value])) as Record<string, number>;
  const stated = Object.fromEntries(checked.map((r) => [r.id, r.seed_value])) as Record<string, number>;
  const seedSendsPerS = seed.messages_per_s!;
  const seedDeliveryBytesPerS = seed.message_delivery_bytes_per_s!;
  const seedMessageBytesPerYear = seed.message_storage_bytes_per_year!;
  const rows: OmissionRow[] = [];
  const add = (r: Omit<OmissionRow, 'value_text'> & { value_text?: string }) =>
    rows.push({ ...r, value_text: r.value_text ?? formatSi(r.value, r.unit) });

  add({
    id: 'peak_vs_average', title: 'Peak vs average',
    seed_says: `${formatSi(stated.messages_per_s!, 'msgs/s')} (a daily average)`,
    value: load.sends_per_s_peak, unit: 'msgs/s', factor_vs_seed: load.sends_per_s_peak / seedSendsPerS,
    formula: 'messages_per_day / 86400 * peak_to_average_ratio', parameters: ['peak_to_average_ratio'],
  });
  const userDeliveriesPerSPeak = load.sends_per_s_peak * load.recipients_per_send_mean;
  add({
    id: 'group_fanout', title: 'Group fan-out (deliveries, not sends)',
    seed_says: 'one delivery per message',
    value: userDeliveriesPerSPeak, unit: 'deliveries/s', factor_vs_seed: userDeliveriesPerSPeak / seedSendsPerS,
    formula: `peak sends * ((1 - group_message_share) + group_message_share * (group_members_mean - 1)) = ` +
      `peak sends * ${formatNumber(load.recipients_per_send_mean)} recipients`,
    parameters: ['group_message_share', 'group_members_mean'],
  });
  add({
    id: 'devices_per_user', title: 'Devices per user (a copy per device, and to the sender\'s other devices)',
    seed_says: 'one device per user',
    value: load.device_deliveries_per_s_peak, unit: 'deliveries/s', factor_vs_seed: load.device_deliveries_per_s_peak / seedSendsPerS,
    formula: `peak sends * (recipients * devices_per_user + devices_per_user - 1) = peak sends * ${formatNumber(load.device_deliveries_per_send)}`,
    parameters: ['devices_per_user'],
  });
  add({
    id: 'wire_overhead', title: 'Protocol and encryption overhead per message',
    seed_says: `${m.message_bytes} B (the text alone)`,
    value: load.message_wire_bytes, unit: 'B', value_text: `${formatNumber(load.message_wire_bytes)} B on the wire`,
    factor_vs_seed: load.message_wire_bytes / m.message_bytes,
    formula: 'message_bytes + envelope_bytes_per_message + e2e_overhead_bytes_per_message + frame_overhead_bytes',
    parameters: ['envelope_bytes_per_message', 'e2e_overhead_bytes_per_message', 'frame_overhead_bytes'],
  });
  add({
    id: 'message_delivery_bandwidth', title: 'Message delivery bandwidth (fan-out, devices, overhead, peak)',
    seed_says: formatBytesPerS(stated.message_delivery_bytes_per_s!),
    value: load.message_egress_bytes_per_s_peak, unit: 'B/s',
    value_text: `${formatBytesPerS(load.message_egress_bytes_per_s_peak)} (${formatBitsPerS(load.message_egress_bytes_per_s_peak * BITS_PER_BYTE)})`,
    factor_vs_seed: load.message_egress_bytes_per_s_peak / seedDeliveryBytesPerS,
    formula: 'peak device deliveries/s * wire bytes per message',
    parameters: ['peak_to_average_ratio', 'group_message_share', 'group_members_mean', 'devices_per_user'],
  });
  const receiptFrames = load.receipt_frames_in_per_s_peak + load.receipt_frames_out_per_s_peak;
  add({
    id: 'receipts', title: 'Delivered + read receipts per recipient',
    seed_says: 'not counted (a status column per message)',
    value: receiptFrames, unit: 'frames/s',
    value_text: `${formatSi(receiptFrames, 'frames/s')}, ${formatBytesPerS(load.receipt_bytes_per_s_peak)}`,
    factor_vs_seed: null,
    formula: 'peak sends * recipients * receipts_per_recipient / messages_per_receipt_frame, in from recipients + out to each sender device',
    parameters: ['receipts_per_recipient', 'messages_per_receipt_frame', 'devices_per_user'],
  });
  add({
    id: 'offline_queue_writes', title: 'Offline-queue writes (fan-out amplified)',
    seed_says: 'not counted',
    value: load.offline_queue_writes_per_s_peak, unit: 'writes/s',
    value_text: `${formatSi(load.offline_queue_writes_per_s_peak, 'writes/s')} (+ as many deletes)`,
    factor_vs_seed: null,
    formula: 'peak device deliveries/s * offline_delivery_share',
    parameters: ['offline_delivery_share', 'group_message_share', 'group_members_mean', 'devices_per_user'],
  });
  add({
    id: 'store_writes', title: 'Store writes at peak, with replication',
    seed_says: 'not stated (one row per message implied)',
    value: load.store_replica_writes_per_s_peak, unit: 'writes/s',
    value_text: `${formatSi(load.store_replica_writes_per_s_peak, 'replica writes/s')} ` +
      `(${formatSi(load.store_writes_per_s_peak, 'rows/s')} x RF ${m.replication_factor})`,
    factor_vs_seed: load.store_replica_writes_per_s_peak / seedSendsPerS,
    formula: '(message rows + offline-queue inserts and deletes + watermark updates) * replication_factor',
    parameters: ['replication_factor', 'offline_delivery_share', 'receipts_per_recipient', 'messages_per_receipt_frame'],
  });
  add({
    id: 'presence', title: 'Presence traffic',
    seed_says: 'not counted',
    value: load.presence_notifications_per_s_peak, unit: 'notifications/s',
    value_text: `${formatSi(load.presence_changes_per_s_peak, 'changes/s')} -> ${formatSi(load.presence_notifications_per_s_peak, 'notifications/s')}, ` +
      formatBytesPerS(load.presence_bytes_per_s_peak),
    factor_vs_seed: null,
    formula: 'users * presence_changes_per_user_per_hour / 3600 * presence_watchers_per_change',
    parameters: ['presence_changes_per_user_per_hour', 'presence_watchers_per_change'],
  });
  add({
    id: 'heartbeats', title: 'Heartbeats of idle connections',
    seed_says: 'not counted',
    value: load.heartbeat_frames_per_s_peak, unit: 'frames/s',
    value_text: `${formatSi(load.heartbeat_frames_per_s_peak, 'frames/s')}, ${formatBytesPerS(load.heartbeat_bytes_per_s_peak)} ` +
      `(${formatNumber(load.heartbeat_frames_per_s_peak / load.sends_per_s_peak)}x the peak send rate in frames)`,
    factor_vs_seed: null,
    formula: '2 * concurrent connections / heartbeat_interval_s',
    parameters: ['heartbeat_interval_s', 'online_device_share_peak', 'devices_per_user'],
  });
  add({
    id: 'concurrent_connections', title: 'Concurrent connections at peak',
    seed_says: '"millions of connections" (no figure)',
    value: load.connections_peak, unit: 'connections', factor_vs_seed: null,
    formula: 'users * devices_per_user * online_device_share_peak',
    parameters: ['devices_per_user', 'online_device_share_peak'],
  });
  const perGib = measured.figures.connections_per_gib;
  const connMemory = perGib ? (load.connections_peak / perGib.value) * BYTES_PER_GIB : NaN;
  add({
    id: 'gateway_connection_memory', title: 'Per-connection memory on gateways',
    seed_says: 'not counted',
    value: connMemory, unit: 'B',
    value_text: perGib
      ? `${formatBytes(connMemory)} across the fleet (${formatNumber(BYTES_PER_GIB / perGib.value)} B per connection, ${perGib.basis})`
      : `not measured (${formatSi(load.connections_peak, 'connections')} to hold)`,
    factor_vs_seed: null,
    formula: 'concurrent connections / connections_per_gib (measured)',
    parameters: ['online_device_share_peak', 'devices_per_user'],
  });
  const withOverheadBytesPerYear = load.message_store_logical_bytes_per_day * DAYS_PER_YEAR;
  add({
    id: 'storage_row_overhead', title: 'Encryption and row overhead in the message store',
    seed_says: `${formatBytes(stated.message_storage_bytes_per_year!)}/year (${m.message_bytes} B per message)`,
    value: withOverheadBytesPerYear, unit: 'B', value_text: `${formatBytes(withOverheadBytesPerYear)}/year (${formatNumber(load.stored_message_bytes)} B per message)`,
    factor_vs_seed: withOverheadBytesPerYear / seedMessageBytesPerYear,
    formula: 'messages_per_day * (message_bytes + e2e_overhead_bytes_per_message + store_row_overhead_bytes) * 365',
    parameters: ['e2e_overhead_bytes_per_message', 'store_row_overhead_bytes'],
  });
  const replicatedBytesPerYear = withOverheadBytesPerYear * m.replication_factor;
  add({
    id: 'storage_replication', title: 'Replication factor on storage',
    seed_says: 'one copy',
    value: replicatedBytesPerYear, unit: 'B', value_text: `${formatBytes(replicatedBytesPerYear)}/year (RF ${m.replication_factor})`,
    factor_vs_seed: replicatedBytesPerYear / seedMessageBytesPerYear,
    formula: 'the above * replication_factor', parameters: ['replication_factor'],
  });
  const physicalBytesPerYear = load.message_store_physical_bytes_per_day * DAYS_PER_YEAR;
  add({
    id: 'storage_space_amplification', title: 'Compaction / space amplification',
    seed_says: 'none',
    value: physicalBytesPerYear, unit: 'B',
    value_text: `${formatBytes(physicalBytesPerYear)}/year on disk; ` +
      `${formatBytes(physicalBytesPerYear / m.store_disk_fill_max_share)}/year of provisioned disk at ${m.store_disk_fill_max_share * 100}% fill`,
    factor_vs_seed: physicalBytesPerYear / seedMessageBytesPerYear,
    formula: 'the above * compaction_space_amplification (then / store_disk_fill_max_share for provisioned disk)',
    parameters: ['compaction_space_amplification', 'store_disk_fill_max_share'],
  });
  const mediaBytesPerS = load.media_upload_bytes_per_s_peak + load.media_download_bytes_per_s_peak;
  add({
    id: 'media_fanout', title: 'Media: upload plus a download per recipient, at peak',
    seed_says: `${formatBytesPerS(stated.media_delivery_bytes_per_s!)} (one transfer per item, average)`,
    value: mediaBytesPerS, unit: 'B/s',
    value_text: `${formatBytesPerS(mediaBytesPerS)} (${formatBitsPerS(mediaBytesPerS * BITS_PER_BYTE)})`,
    factor_vs_seed: mediaBytesPerS / seed.media_delivery_bytes_per_s!,
    formula: 'peak media/s * media_bytes * (1 upload + recipients * media_downloads_per_recipient)',
    parameters: ['peak_to_average_ratio', 'media_downloads_per_recipient', 'group_message_share', 'group_members_mean'],
  });
  const mediaStoreBytesPerYear = load.media_store_physical_bytes_per_day * DAYS_PER_YEAR;
  add({
    id: 'media_redundancy', title: 'Blob-store redundancy on media',
    seed_says: `${formatBytes(stated.media_storage_bytes_per_year!)}/year (one copy)`,
    value: mediaStoreBytesPerYear, unit: 'B', value_text: `${formatBytes(mediaStoreBytesPerYear)}/year`,
    factor_vs_seed: m.media_storage_redundancy,
    formula: 'media_per_day * media_bytes * media_storage_redundancy * 365', parameters: ['media_storage_redundancy'],
  });
  const totalBytesPerYear = physicalBytesPerYear + mediaStoreBytesPerYear + load.user_data_physical_bytes;
  add({
    id: 'total_storage', title: 'Total storage per year, with all of the above',
    seed_says: `~${formatBytes(stated.total_storage_bytes_per_year!)}/year`,
    value: totalBytesPerYear, unit: 'B', value_text: `${formatBytes(totalBytesPerYear)}/year on disk`,
    factor_vs_seed: totalBytesPerYear / seed.total_storage_bytes_per_year!,
    formula: 'message store on disk + media with redundancy + user data * replication_factor',
    parameters: ['replication_factor', 'compaction_space_amplification', 'media_storage_redundancy'],
  });
  add({
    id: 'redis_routes', title: 'Route registry (which gateway holds which device)',
    seed_says: 'not counted',
    value: load.redis_route_bytes, unit: 'B',
    value_text: `${formatBytes(load.redis_route_bytes)} of Redis routes, ${formatSi(load.redis_ops_per_s_peak, 'ops/s')} at peak`,
    factor_vs_seed: null,
    formula: 'connections * redis_bytes_per_route_entry; ops: deliveries * redis_ops_per_delivery + presence changes + route refreshes',
    parameters: ['redis_bytes_per_route_entry', 'redis_ops_per_delivery'],
  });
  return rows;
}
