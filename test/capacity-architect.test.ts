// The architect's parts of the capacity model: hardware profiles scale a node's
// throughput from the measured CPU per message per core through the USL; the
// tornado ranks parameters by how far they move the fleet; the cost is nodes x
// price; every reconciliation row cites published figures with a source and a year.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../server/common/paths';
import { readResults } from '../tools/capacity-model/adapters';
import { DAYS_PER_MONTH_MEAN, fleetCost } from '../tools/capacity-model/cost';
import { SEED_FLEET_MODEL, type FleetModel } from '../tools/capacity-model/fleet-model';
import { effectiveCores, hardwareProfile, withProfile } from '../tools/capacity-model/hardware';
import { deriveLoad } from '../tools/capacity-model/load';
import { emptyMeasurements, mergeMeasurements, parseAssumptions, type Measurements } from '../tools/capacity-model/measured';
import { applyOverrides } from '../tools/capacity-model/model';
import { projectFleet, type TierProjection } from '../tools/capacity-model/projection';
import { PUBLISHED } from '../tools/capacity-model/published';
import { reconcile } from '../tools/capacity-model/reconcile';
import { sensitivity, totalNodes } from '../tools/capacity-model/sensitivity';

const REF = join(REPO_ROOT, 'results', 'reference');
const RAMP = join(REF, '2026-11-28T01-57-21-capacity-ramp');
const PROBE = join(REF, '2026-11-28T01-57-21-capacity-probe');
const P99 = SEED_FLEET_MODEL.delivery_latency_ms_max;

/** Figures given by hand on a 2-core machine: every number below follows from them. */
function handMeasured(): Measurements {
  const m = parseAssumptions(['gateway_msgs_per_s_at_p99=4000', 'gateway_cpu_us_per_msg=100', 'chat_msgs_per_s_at_p99=4000', 'chat_cpu_us_per_msg=200', 'chat_coordination_ratio=0.5']);
  m.machine = { cpus: 2 };
  return m;
}

const tierOf = (tiers: TierProjection[], name: string) => tiers.find((t) => t.tier === name)!;
const project = (m: FleetModel, measured: Measurements) => projectFleet(m, deriveLoad(m), measured, { chat_facts: false });

describe('hardware profiles', () => {
  test('effective cores follow the USL: C with no contention, fewer with it, 1 for one core', () => {
    assert.equal(effectiveCores(1, 0.3, 0.01), 1);
    assert.equal(effectiveCores(32, 0, 0), 32);
    assert.ok(Math.abs(effectiveCores(32, 0.02, 0) - 32 / 1.62) < 1e-9);
    assert.ok(Math.abs(effectiveCores(4, 0.1, 0.01) - 4 / (1 + 0.3 + 0.12)) < 1e-9);
    assert.throws(() => effectiveCores(0, 0, 0));
  });

  test('a node of the measured size keeps the measured rate; another size is sized from CPU per message per core', () => {
    const measured = handMeasured();
    const same = project({ ...SEED_FLEET_MODEL }, measured);
    const gwSame = tierOf(same.tiers, 'gateway').constraints.find((c) => c.kind === 'main' && c.name === 'throughput')!;
    assert.equal(gwSame.capacity_per_node, 4000);

    const m32 = applyOverrides(SEED_FLEET_MODEL, ['node_cores=32', 'core_scaling_sigma=0']);
    const big = project(m32, measured);
    const gw = tierOf(big.tiers, 'gateway');
    const perCore = gw.constraints.find((c) => c.kind === 'main' && c.name.startsWith('throughput'))!;
    assert.equal(perCore.basis, 'cpu-extrapolated');
    assert.equal(perCore.capacity_per_node, 32 * 1e6 / 100, '32 cores x 10k msgs/s per core at 100 us');
    assert.ok(gw.constraints.some((c) => c.kind === 'stand-in' && c.capacity_per_node === 4000), 'the measured rate is shown, not used');
    const chat = tierOf(big.tiers, 'chat').constraints.find((c) => c.kind === 'main')!;
    assert.equal(chat.capacity_per_node, 32 * 1e6 / (200 / 0.5), 'chat: CPU per message over the coordination ratio');

    // Twice the cores with no contention: half the throughput-bound nodes (to the ceiling).
    const m64 = applyOverrides(SEED_FLEET_MODEL, ['node_cores=64', 'core_scaling_sigma=0']);
    const n32 = perCore.nodes!;
    const n64 = tierOf(project(m64, measured).tiers, 'gateway').constraints.find((c) => c.kind === 'main' && c.name.startsWith('throughput'))!.nodes!;
    assert.equal(n64, Math.ceil(perCore.demand / (64 * 1e4 * SEED_FLEET_MODEL.node_utilisation_max)));
    assert.ok(n64 <= Math.ceil(n32 / 2) + 1 && n64 >= Math.floor(n32 / 2));
    // Contention costs nodes.
    const m32s = applyOverrides(SEED_FLEET_MODEL, ['node_cores=32', 'core_scaling_sigma=0.05']);
    assert.ok(tierOf(project(m32s, measured).tiers, 'gateway').nodes_required! > tierOf(big.tiers, 'gateway').nodes_required!);
  });

  test('without a CPU-per-message figure a large node\'s throughput is "not measured" and the tier a floor', () => {
    const measured = parseAssumptions(['gateway_msgs_per_s_at_p99=4000']);
    measured.machine = { cpus: 2 };
    const gw = tierOf(project(applyOverrides(SEED_FLEET_MODEL, ['node_cores=32']), measured).tiers, 'gateway');
    assert.equal(gw.complete, false);
    assert.ok(gw.constraints.some((c) => c.kind === 'main' && c.basis === 'not measured'));
  });

  test('a profile sets cores, memory, NIC, disk and prices; --set still wins; unknown names are refused', () => {
    const m = applyOverrides(withProfile(SEED_FLEET_MODEL, hardwareProfile('c32')), ['store_node_disk_bytes=1e13']);
    assert.equal(m.node_cores, 32);
    assert.equal(m.gateway_connection_memory_gib, 96);
    assert.equal(m.store_node_disk_bytes, 1e13);
    assert.throws(() => hardwareProfile('c9000'), /unknown profile/);
  });
});

describe('sensitivity', () => {
  test('on a known model the tornado ranks by swing, and each row is the fleet re-projected at that value', () => {
    const measured = emptyMeasurements();
    const ranges = [
      { name: 'heartbeat_interval_s' as const, low: 30, high: 300, why: 't' },
      { name: 'message_retention_days' as const, low: 30, high: 730, why: 't' },
      { name: 'replication_factor' as const, low: 2, high: 5, why: 't' },
    ];
    const s = sensitivity(SEED_FLEET_MODEL, measured, ranges, []);
    assert.deepEqual(s.rows.map((r) => r.name), ['message_retention_days', 'replication_factor', 'heartbeat_interval_s']);
    for (let i = 1; i < s.rows.length; i++) assert.ok(s.rows[i - 1]!.swing_nodes >= s.rows[i]!.swing_nodes);
    const r = s.rows[0]!;
    assert.equal(r.nodes_at_low, totalNodes(project({ ...SEED_FLEET_MODEL, message_retention_days: 30 }, measured)));
    assert.equal(r.nodes_at_high, totalNodes(project({ ...SEED_FLEET_MODEL, message_retention_days: 730 }, measured)));
    assert.equal(s.base_nodes, totalNodes(project(SEED_FLEET_MODEL, measured)));
    assert.ok(r.nodes_at_high > 2 * r.nodes_at_low, 'the disk-bound store scales with retention');
  });

  test('measured figures are moved too, only those the run has', () => {
    const s = sensitivity(SEED_FLEET_MODEL, handMeasured(), [], undefined);
    const names = s.rows.map((r) => r.name).sort();
    assert.deepEqual(names, ['chat_coordination_ratio', 'chat_cpu_us_per_msg', 'chat_msgs_per_s_at_p99', 'gateway_cpu_us_per_msg', 'gateway_msgs_per_s_at_p99']);
    const gw = s.rows.find((r) => r.name === 'gateway_msgs_per_s_at_p99')!;
    assert.ok(gw.nodes_at_low > gw.nodes_at_high, 'half the rate, more gateways');
    assert.ok(s.rows.find((r) => r.name === 'chat_coordination_ratio')!.high_value <= 1, 'the ratio is capped at 1');
  });
});

describe('cost', () => {
  test('nodes x price per tier, the total, and per million messages', () => {
    const measured = mergeMeasurements([readResults(RAMP, P99), readResults(PROBE, P99)]);
    const m = applyOverrides(SEED_FLEET_MODEL, ['gateway_node_usd_per_month=10', 'chat_node_usd_per_month=20', 'store_node_usd_per_month=300', 'redis_node_usd_per_month=7']);
    const fleet = project(m, measured);
    const c = fleetCost(m, fleet);
    const n = (t: string) => tierOf(fleet.tiers, t).nodes!;
    // The media tier runs on the gateways' kind of machine (cost.ts): priced as a gateway.
    const expected = n('gateway') * 10 + n('chat') * 20 + n('scylla') * 300 + n('redis') * 7 + (tierOf(fleet.tiers, 'media').nodes ?? 0) * 10;
    assert.equal(c.usd_per_month, expected);
    assert.equal(c.messages_per_month, 100e9 * DAYS_PER_MONTH_MEAN);
    assert.ok(Math.abs(c.usd_per_million_messages! - expected / (100e9 * 30.4375 / 1e6)) < 1e-9);
    assert.equal(c.complete, false, 'the store writes are not measured: the cost is a floor');
    assert.equal(c.tiers.find((t) => t.tier === 'scylla')!.complete, false);
    assert.equal(c.tiers.find((t) => t.tier === 'gateway')!.complete, true);
  });
});

describe('reconciliation', () => {
  test('every row cites published figures that have a source and a year, and its ratio is published / ours', () => {
    const measured = mergeMeasurements([readResults(RAMP, P99), readResults(PROBE, P99)]);
    const load = deriveLoad(SEED_FLEET_MODEL);
    const fleet = projectFleet(SEED_FLEET_MODEL, load, measured);
    const rec = reconcile(SEED_FLEET_MODEL, load, measured, fleet);
    assert.ok(rec.rows.length >= 5);
    for (const row of rec.rows) {
      assert.ok(row.published_from.length > 0, row.what);
      for (const name of row.published_from) {
        const p = PUBLISHED[name];
        assert.ok(p.source.length > 10 && p.year >= 2009 && p.year <= 2026, `${name}: source and year`);
        assert.match(p.note, /not looked up/);
      }
      assert.ok(row.ours !== null && row.ours > 0, row.what);
      assert.ok(Math.abs(row.ratio! - row.published / row.ours!) < 1e-9);
      assert.ok(row.why.length > 40, `${row.what} explains the ratio`);
    }
    // The store is a floor here (no ScyllaDB write figure): its rows say at least, the gateways' rows are exact.
    assert.equal(rec.rows.find((r) => r.what === 'store nodes per 1B messages/day')!.ours_bound, 'at least');
    assert.equal(rec.rows.find((r) => r.what === 'users per server (whole fleet)')!.ours_bound, 'at most');
    const perChat = rec.rows.find((r) => r.what === 'connections per chat server at peak')!;
    assert.equal(perChat.ours_bound, 'exact');
    assert.equal(perChat.published, 147e6 / 150);
    assert.equal(perChat.ours, load.connections_peak / tierOf(fleet.tiers, 'gateway').nodes!);
    // The split it prints multiplies back to the ratio: messages per server x work per connection.
    const m = /exactly ([\d.]+)x .* x ([\d.]+)x \(work per connection/.exec(perChat.why);
    assert.ok(m, perChat.why);
    assert.ok(Math.abs(Number(m[1]) * Number(m[2]) / perChat.ratio! - 1) < 0.01, `${m[1]} x ${m[2]} vs ${perChat.ratio}`);
  });
});
