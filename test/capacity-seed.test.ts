// The capacity model's arithmetic, checked against hand computations: every
// figure of the seed's Capacity Estimation, and the load the default
// assumptions add on top (what the seed leaves out).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SEED_FLEET_MODEL } from '../tools/capacity-model/fleet-model';
import { deriveLoad } from '../tools/capacity-model/load';
import { emptyMeasurements, parseAssumptions } from '../tools/capacity-model/measured';
import { applyOverrides, loadFleetModel, validateFleetModel } from '../tools/capacity-model/model';
import { listOmissions } from '../tools/capacity-model/omissions';
import { checkSeed, type SeedCheckRow } from '../tools/capacity-model/seed';

function approx(actual: number, expected: number, relative = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * relative, `${actual} is not ${expected}`);
}

function row(rows: SeedCheckRow[], id: string): SeedCheckRow {
  const r = rows.find((x) => x.id === id);
  assert.ok(r, `no row ${id}`);
  return r;
}

describe("the seed's estimates, recomputed", () => {
  const rows = checkSeed(SEED_FLEET_MODEL);

  test('100B messages/day is 1,157,407.4 msgs/s: the seed rounds it to 1.16M', () => {
    const r = row(rows, 'messages_per_s');
    approx(r.recomputed_value, 100_000_000_000 / 86_400);
    approx(r.recomputed_value, 1_157_407.407407, 1e-9);
    assert.equal(r.seed_value, 1_160_000);
    assert.equal(r.verdict, 'rounded');
    assert.match(r.reason, /1,157,407/);
  });

  test('messages: 100B * 100 B = 10 TB/day = 3.65 PB/year, exactly', () => {
    approx(row(rows, 'message_storage_bytes_per_day').recomputed_value, 10e12);
    approx(row(rows, 'message_storage_bytes_per_year').recomputed_value, 3.65e15);
    assert.equal(row(rows, 'message_storage_bytes_per_day').verdict, 'exact');
    assert.equal(row(rows, 'message_storage_bytes_per_year').verdict, 'exact');
  });

  test('media: 1B * 1 MB = 1 PB/day = 365 PB/year, exactly', () => {
    approx(row(rows, 'media_storage_bytes_per_day').recomputed_value, 1e15);
    approx(row(rows, 'media_storage_bytes_per_year').recomputed_value, 365e15);
    assert.equal(row(rows, 'media_storage_bytes_per_year').verdict, 'exact');
  });

  test('user data: 2B * 1 KB = 2 TB, exactly', () => {
    approx(row(rows, 'user_data_bytes').recomputed_value, 2e12);
    assert.equal(row(rows, 'user_data_bytes').verdict, 'exact');
  });

  test('total: 3.65 PB + 365 PB + 2 TB = 368.652 PB/year, which the seed rounds to ~370', () => {
    const r = row(rows, 'total_storage_bytes_per_year');
    approx(r.recomputed_value, 368_652e12);
    assert.equal(r.seed_value, 370e15);
    approx(r.relative_difference, (368.652 - 370) / 370, 1e-9);
    assert.equal(r.verdict, 'rounded');
  });

  test('message delivery: 1,157,407/s * 100 B = 115.74 MB/s (the seed: 116 MB/s from the rounded rate)', () => {
    const r = row(rows, 'message_delivery_bytes_per_s');
    approx(r.recomputed_value, 115_740_740.74074, 1e-9);
    assert.equal(r.verdict, 'rounded');
  });

  test('media: 1B/86400 = 11,574 media/s, * 1 MB = 11.57 GB/s (the seed: 11.6K and 11.6 GB/s)', () => {
    approx(row(rows, 'media_uploads_per_s').recomputed_value, 11_574.074074, 1e-9);
    approx(row(rows, 'media_delivery_bytes_per_s').recomputed_value, 11_574_074_074.074, 1e-9);
    assert.equal(row(rows, 'media_delivery_bytes_per_s').verdict, 'rounded');
  });

  test('no seed figure is wrong beyond rounding', () => {
    assert.equal(rows.length, 10);
    assert.deepEqual(rows.filter((r) => r.verdict === 'differs'), []);
  });

  test('a model that changes a seed input flags the figures it moves, naming the input', () => {
    const changed = checkSeed(applyOverrides(SEED_FLEET_MODEL, ['messages_per_day=50e9']));
    const r = row(changed, 'message_storage_bytes_per_day');
    approx(r.recomputed_value, 5e12);
    assert.equal(r.verdict, 'differs');
    assert.match(r.reason, /messages_per_day = 50000000000 \(seed 100000000000\)/);
    assert.equal(row(changed, 'media_storage_bytes_per_day').verdict, 'exact');
  });
});

describe('what the seed leaves out, under the default assumptions', () => {
  const m = SEED_FLEET_MODEL;
  const load = deriveLoad(m);
  const peakSends = (100e9 / 86_400) * 2;

  test('peak: twice the daily average', () => approx(load.sends_per_s_peak, 2_314_814.814815, 1e-9));

  test('fan-out: 0.7 * 1 + 0.3 * (8 - 1) = 2.8 recipients; * 1.3 devices + 0.3 sender devices = 3.94 copies per send', () => {
    approx(load.recipients_per_send_mean, 2.8);
    approx(load.device_deliveries_per_send, 3.94);
    approx(load.device_deliveries_per_s_peak, peakSends * 3.94);
  });

  test('a message is 100 + 40 envelope + 58 e2e + 80 frame = 278 B on the wire', () => {
    assert.equal(load.message_wire_bytes, 278);
    approx(load.message_egress_bytes_per_s_peak, peakSends * 3.94 * 278);
  });

  test('receipts: 2.8 recipients * 2 receipts per send in, * 1.3 sender devices out', () => {
    approx(load.receipt_frames_in_per_s_peak, peakSends * 5.6);
    approx(load.receipt_frames_out_per_s_peak, peakSends * 5.6 * 1.3);
    approx(load.receipt_bytes_per_s_peak, peakSends * 5.6 * 2.3 * (24 + 80));
  });

  test('offline-queue writes: 20% of 3.94 copies per send', () => approx(load.offline_queue_writes_per_s_peak, peakSends * 3.94 * 0.2));

  test('store writes: (1 row + 2 * 0.788 queue ops + 5.6 watermarks) per send, times RF 3', () => {
    approx(load.store_writes_per_s_peak, peakSends * (1 + 2 * 0.788 + 5.6));
    approx(load.store_replica_writes_per_s_peak, peakSends * 8.176 * 3);
  });

  test('connections: 2B users * 1.3 devices * 30% online = 780M; heartbeats 2 * 780M / 60 s = 26M frames/s', () => {
    approx(load.connections_peak, 780e6);
    approx(load.heartbeat_frames_per_s_peak, 26e6);
  });

  test('presence: 2B * 4 changes/h / 3600 = 2.22M changes/s, 2 watchers each', () => {
    approx(load.presence_changes_per_s_peak, (2e9 * 4) / 3600);
    approx(load.presence_notifications_per_s_peak, (2e9 * 4 * 2) / 3600);
  });

  test('message store on disk: 100B * (100 + 58 + 60) B * RF 3 * 1.2 = 78.48 TB/day', () => {
    assert.equal(load.stored_message_bytes, 218);
    approx(load.message_store_physical_bytes_per_day, 100e9 * 218 * 3 * 1.2);
    approx(load.message_store_physical_bytes_standing, 100e9 * 218 * 3 * 1.2 * 365);
  });

  test('media at peak: (1 upload + 2.8 downloads) * 2 * 11,574/s * 1 MB', () => {
    approx(load.media_upload_bytes_per_s_peak + load.media_download_bytes_per_s_peak, (1e9 / 86_400) * 2 * 1e6 * 3.8);
  });

  test('every omission the issue names is listed with a number', () => {
    const rows = listOmissions(m, load, emptyMeasurements());
    const ids = rows.map((r) => r.id);
    for (const id of ['peak_vs_average', 'group_fanout', 'devices_per_user', 'wire_overhead', 'message_delivery_bandwidth', 'receipts',
      'offline_queue_writes', 'presence', 'heartbeats', 'storage_replication', 'storage_space_amplification', 'gateway_connection_memory']) {
      assert.ok(ids.includes(id), `missing omission ${id}`);
    }
    const bandwidth = rows.find((r) => r.id === 'message_delivery_bandwidth')!;
    approx(bandwidth.factor_vs_seed!, (peakSends * 3.94 * 278) / (100e9 / 86_400 * 100));
    const replication = rows.find((r) => r.id === 'storage_replication')!;
    approx(replication.value, 100e9 * 218 * 365 * 3);
    // 28.64 PB messages on disk + 547.5 PB media (1.5x) + 6 TB user data (RF 3)
    approx(rows.find((r) => r.id === 'total_storage')!.value, 100e9 * 218 * 3 * 1.2 * 365 + 1e15 * 1.5 * 365 + 2e12 * 3);
  });

  test('gateway memory is "not measured" until a figure exists, then connections / connections_per_gib GiB', () => {
    const none = listOmissions(m, load, emptyMeasurements()).find((r) => r.id === 'gateway_connection_memory')!;
    assert.ok(Number.isNaN(none.value));
    assert.match(none.value_text, /^not measured/);
    const some = listOmissions(m, load, parseAssumptions(['connections_per_gib=100000'])).find((r) => r.id === 'gateway_connection_memory')!;
    approx(some.value, (780e6 / 100_000) * 2 ** 30);
    assert.match(some.value_text, /assumed/);
  });
});

describe('the fleet model file', () => {
  test('defaults are the seed figures', () => {
    const m = loadFleetModel();
    assert.equal(m.users, 2e9);
    assert.equal(m.messages_per_day, 100e9);
    assert.equal(m.message_bytes, 100);
    assert.equal(m.media_per_day, 1e9);
    assert.equal(m.media_bytes, 1e6);
    assert.equal(m.group_members_max, 256);
    assert.equal(m.availability_target, 0.999);
    assert.equal(m.delivery_latency_ms_max, 100);
  });

  test('an unknown parameter, a missing one, or one out of range is refused by name', () => {
    assert.throws(() => validateFleetModel({ ...SEED_FLEET_MODEL, peak_ratio: 2 }), /unknown parameter "peak_ratio"/);
    const { users: _users, ...missing } = SEED_FLEET_MODEL;
    assert.throws(() => validateFleetModel(missing), /users must be a finite number/);
    assert.throws(() => applyOverrides(SEED_FLEET_MODEL, ['group_message_share=1.5']), /group_message_share = 1.5 is outside \[0, 1\]/);
    assert.throws(() => applyOverrides(SEED_FLEET_MODEL, ['peak_to_average_ratio']), /expected name=value/);
  });
});
