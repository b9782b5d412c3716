// The fleet projection reads its per-node figures from real results: a smoke
// run of the real system made here by the load generator, the full-vs-bare
// ramp's JSON, the capacity probe's output. Figures nobody measured stay "not
// measured"; assumptions are labelled; headroom and the failure what-if follow
// their formulas.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SEED_FLEET_MODEL } from '../tools/capacity-model/fleet-model';
import { REPO_ROOT } from '../server/common/paths';
import { readResults } from '../tools/capacity-model/adapters';
import { deriveLoad } from '../tools/capacity-model/load';
import { emptyMeasurements, mergeMeasurements, parseAssumptions } from '../tools/capacity-model/measured';
import { projectFleet, replicatedHeadroom, statelessHeadroom, type TierProjection } from '../tools/capacity-model/projection';
import { failureWhatIf } from '../tools/capacity-model/failure';
import { buildReport } from '../tools/capacity-model/report';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'capacity');
const CLI = join(REPO_ROOT, 'dist', 'tools', 'capacity-model', 'cli.js');
const P99_MS_MAX = SEED_FLEET_MODEL.delivery_latency_ms_max;

function tier(tiers: TierProjection[], name: string): TierProjection {
  const t = tiers.find((x) => x.tier === name);
  assert.ok(t, `no tier ${name}`);
  return t;
}

interface SmokeSummary {
  machine: { cpus: number };
  cpu_seconds: { gateway: number; chat: number };
  result: { stages: { rate: number; achievedRate: number; delivered: number; lost: number; duplicated: number; outOfOrder: number; latency: { p99_ms: number } }[] };
}

describe('fleet projection from a real smoke run of the load generator', () => {
  let dir = '';
  let summary: SmokeSummary;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'capacity-smoke-'));
    const run = spawnSync(process.execPath, [join(REPO_ROOT, 'dist/loadgen/commands/run-pairs.js'), '--users', '20', '--rate', '500', '--duration', '2', '--out', dir], {
      encoding: 'utf8', timeout: 90_000,
    });
    assert.equal(run.status, 0, `run-pairs failed:\n${run.stdout}\n${run.stderr}`);
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as SmokeSummary;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("the per-node figures are the run's: its held stage, its CPU per message, its machine", () => {
    const measured = readResults(dir, P99_MS_MAX);
    const source = join(dir, 'summary.json');
    assert.deepEqual(measured.sources, [source]);
    assert.equal(measured.machine?.cpus, summary.machine.cpus);
    const stage = summary.result.stages[0]!;
    const delivered = summary.result.stages.reduce((a, s) => a + s.delivered, 0);
    assert.equal(measured.figures.gateway_cpu_us_per_msg?.value, (summary.cpu_seconds.gateway * 1e6) / delivered);
    assert.equal(measured.figures.chat_cpu_us_per_msg?.value, (summary.cpu_seconds.chat * 1e6) / delivered);
    const held = stage.latency.p99_ms < P99_MS_MAX && stage.lost === 0 && stage.duplicated === 0 && stage.outOfOrder === 0;
    if (held) {
      const expected = Math.min(stage.rate, stage.achievedRate);
      for (const f of ['gateway_msgs_per_s_at_p99', 'chat_msgs_per_s_at_p99', 'store_writes_per_s'] as const) {
        assert.equal(measured.figures[f]?.value, expected, f);
        assert.equal(measured.figures[f]?.source, source, f);
        assert.equal(measured.figures[f]?.basis, 'sustained', f); // one stage, nothing above it broke
      }
      assert.equal(measured.figures.store_writes_per_s?.engine, 'embedded-sqlite');
    } else {
      // A loaded machine can miss the target: then the run measured no throughput, and the model must say so.
      assert.equal(measured.figures.gateway_msgs_per_s_at_p99, undefined);
      assert.ok(measured.notes.some((n) => /no stage held p99/.test(n)));
    }
    // Never measured by a smoke run:
    assert.equal(measured.figures.connections_per_gib, undefined);
    assert.equal(measured.figures.reconnect_accept_per_s, undefined);
    assert.equal(measured.usl_points.length, 1);
  });

  test('gateways and chat nodes are sized from that run; ScyllaDB never from the embedded store', () => {
    const measured = readResults(dir, P99_MS_MAX);
    const load = deriveLoad(SEED_FLEET_MODEL);
    const fleet = projectFleet(SEED_FLEET_MODEL, load, measured);
    const gw = tier(fleet.tiers, 'gateway');
    const cpuConstraint = gw.constraints.find((c) => c.kind === 'cpu')!;
    const cores = summary.machine.cpus;
    assert.equal(cpuConstraint.capacity_per_node, (cores * 1e6) / measured.figures.gateway_cpu_us_per_msg!.value);
    const rate = measured.figures.gateway_msgs_per_s_at_p99?.value;
    const throughput = gw.constraints.find((c) => c.name === 'throughput')!;
    if (rate !== undefined) {
      assert.equal(throughput.nodes, Math.ceil(load.gateway_msg_equivalents_per_s_peak / (rate * SEED_FLEET_MODEL.node_utilisation_max)));
      assert.equal(throughput.source, join(dir, 'summary.json'));
      const chat = tier(fleet.tiers, 'chat');
      assert.equal(chat.nodes_required, Math.ceil(load.chat_msg_equivalents_per_s_peak / (rate * SEED_FLEET_MODEL.node_utilisation_max)));
      assert.equal(chat.nodes, statelessHeadroom(chat.nodes_required!, SEED_FLEET_MODEL.zones));
    } else {
      assert.equal(throughput.basis, 'not measured');
    }
    assert.equal(gw.complete, false, 'gateway memory per connection is not measured by a smoke run');
    const scylla = tier(fleet.tiers, 'scylla');
    assert.equal(scylla.constraints.find((c) => c.name === 'writes')!.basis, 'not measured');
    assert.equal(scylla.binding, 'disk');
  });

  test('the capacity command runs on it and writes Markdown, JSON and the figures it used', () => {
    const out = join(dir, 'capacity-out');
    const run = spawnSync(process.execPath, [CLI, '--results', dir, '--out', out], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /The seed's estimates, recomputed/);
    assert.match(run.stdout, /Projected fleet/);
    const json = JSON.parse(readFileSync(join(out, 'capacity.json'), 'utf8')) as { measured: { sources: string[] }; seed_check: unknown[] };
    assert.deepEqual(json.measured.sources, [join(dir, 'summary.json')]);
    assert.equal(json.seed_check.length, 10);
    const md = readFileSync(join(out, 'capacity.md'), 'utf8');
    assert.match(md, /^# Capacity model/);
    assert.match(md, /## What the seed leaves out/);
    assert.match(md, /\| connections_per_gib \| not measured \|/);
    assert.equal(existsSync(join(out, 'usl.svg')), false, 'one stage is no ramp: no USL chart');
  });
});

describe('adapters and projection rules', () => {
  test('full-vs-bare: the highest stage that held is the figure, bracketed by the one that broke; its stages are USL points', () => {
    const m = readResults(join(FIXTURES, 'full-vs-bare.json'), P99_MS_MAX);
    const g = m.figures.gateway_msgs_per_s_at_p99!;
    assert.equal(g.value, 12000 * 0.999);
    assert.equal(g.basis, 'breakpoint');
    assert.match(g.note!, /broke at 16000/);
    assert.equal(m.figures.gateway_cpu_us_per_msg!.value, (4.2 * 1e6) / (2000 * 4 + 4000 * 4 + 8000 * 4 + 12000 * 4 + 16000 * 4));
    assert.equal(m.usl_points.length, 5);
    // Little's law: N = X * mean latency; X over the delivery window (stage + latency spread)
    const p = m.usl_points[4]!;
    const x = 64000 / (4 + (610 - 0.7) / 1000);
    assert.ok(Math.abs(p.throughput_per_s - x) < 1e-9);
    assert.ok(Math.abs(p.concurrency - x * 0.16) < 1e-9);
    assert.ok(m.notes.some((n) => /bare uWS forwarder held 16000/.test(n)));
  });

  test("the load generator's breakpoint summary gives the capacity, CPU per message and memory per connection", () => {
    const m = readResults(join(FIXTURES, 'loadgen-breakpoint-summary.json'), P99_MS_MAX);
    const g = m.figures.gateway_msgs_per_s_at_p99!;
    assert.equal(g.value, 9500);
    assert.equal(g.basis, 'breakpoint');
    assert.match(g.note!, /first broke at 26s/);
    assert.equal(m.figures.store_writes_per_s!.engine, 'embedded-sqlite');
    assert.equal(m.figures.gateway_cpu_us_per_msg!.value, (12 * 1e6) / 240_000);
    assert.equal(m.figures.chat_cpu_us_per_msg!.value, (24 * 1e6) / 240_000);
    assert.equal(m.figures.connections_per_gib!.value, 2 ** 30 / (5_000_000 / 1000));
    assert.equal(m.machine?.cpus, 2);
  });

  test('the probe gives memory, reconnect and Redis figures; merged with a run, the gateway tier is complete', () => {
    const m = mergeMeasurements([readResults(join(FIXTURES, 'full-vs-bare.json'), P99_MS_MAX), readResults(join(FIXTURES, 'capacity-probe.json'), P99_MS_MAX)]);
    assert.equal(m.figures.connections_per_gib!.value, 2 ** 30 / 2000);
    assert.equal(m.figures.reconnect_accept_per_s!.value, 5000);
    const load = deriveLoad(SEED_FLEET_MODEL);
    const fleet = projectFleet(SEED_FLEET_MODEL, load, m);
    const gw = tier(fleet.tiers, 'gateway');
    assert.equal(gw.complete, true);
    const memory = gw.constraints.find((c) => c.name === 'memory')!;
    assert.equal(memory.nodes, Math.ceil(780e6 / ((2 ** 30 / 2000) * SEED_FLEET_MODEL.gateway_connection_memory_gib)));
    assert.equal(gw.nodes_required, Math.max(...gw.constraints.filter((c) => c.kind === 'main').map((c) => c.nodes!)));
    const redis = tier(fleet.tiers, 'redis');
    assert.equal(redis.constraints.find((c) => c.name === 'ops')!.nodes, Math.ceil(load.redis_ops_per_s_peak / (400_000 * 0.7)));
    assert.equal(redis.nodes, redis.nodes_required! * 2);
  });

  test('nothing measured: every measured constraint says so, model-only constraints still size', () => {
    const fleet = projectFleet(SEED_FLEET_MODEL, deriveLoad(SEED_FLEET_MODEL), emptyMeasurements());
    for (const t of fleet.tiers) {
      for (const c of t.constraints.filter((x) => x.basis !== 'model')) assert.equal(c.nodes, null, `${t.tier} ${c.name}`);
      assert.equal(t.complete, false, t.tier);
    }
    assert.equal(tier(fleet.tiers, 'chat').nodes, null);
    assert.equal(tier(fleet.tiers, 'scylla').binding, 'disk');
  });

  test('an assumption is used only when given, and labelled "assumed"', () => {
    const fleet = projectFleet(SEED_FLEET_MODEL, deriveLoad(SEED_FLEET_MODEL), parseAssumptions(['chat_msgs_per_s_at_p99=20000']));
    const c = tier(fleet.tiers, 'chat').constraints[0]!;
    assert.equal(c.basis, 'assumed');
    assert.equal(c.source, '--assume');
    assert.throws(() => parseAssumptions(['gateway_speed=1']), /unknown figure/);
  });

  test('headroom: N+1 and a zone loss for stateless tiers, whole racks for the replicated store', () => {
    assert.equal(statelessHeadroom(10, 3), 15); // 3 zones * ceil(10 / 2)
    assert.equal(statelessHeadroom(1, 3), 3);
    assert.equal(statelessHeadroom(10, 1), 11);
    assert.equal(replicatedHeadroom(10, 3), 12);
  });

  test('failure what-if: a zone of users over the surviving gateways at the measured accept rate', () => {
    const m = parseAssumptions(['gateway_msgs_per_s_at_p99=10000', 'connections_per_gib=500000', 'reconnect_accept_per_s=2000']);
    const model = SEED_FLEET_MODEL;
    const load = deriveLoad(model);
    const fleet = projectFleet(model, load, m);
    const w = failureWhatIf(model, load, fleet, m);
    const g = fleet.tiers[0]!.nodes!;
    const zone = w.cases.find((c) => c.id === 'zone')!;
    assert.equal(zone.connections_lost, 780e6 / 3);
    assert.equal(zone.gateways_surviving, Math.floor((g * 2) / 3));
    assert.equal(zone.capacity_bound_s, 780e6 / 3 / (2000 * Math.floor((g * 2) / 3)));
    assert.equal(zone.recovery_s, Math.max(model.reconnect_jitter_window_s, zone.capacity_bound_s!));
    const gateway = w.cases.find((c) => c.id === 'gateway')!;
    assert.equal(gateway.connections_lost, 780e6 / g);
    assert.ok(Math.abs(w.error_budget_s_per_year - 31_536) < 1e-6); // 0.1% of 365 days
    const none = failureWhatIf(model, load, fleet, emptyMeasurements());
    assert.ok(none.cases.every((c) => c.recovery_s === null));
  });

  test('a report with a ramp fits the USL; --usl-points replaces the ramp', () => {
    const m = readResults(join(FIXTURES, 'full-vs-bare.json'), P99_MS_MAX);
    const r = buildReport(SEED_FLEET_MODEL, m);
    assert.ok(r.usl.fit);
    const out = mkdtempSync(join(tmpdir(), 'capacity-usl-'));
    try {
      const run = spawnSync(process.execPath, [CLI, '--no-results', '--usl-points', join(FIXTURES, 'usl-points.json'), '--out', out], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(run.status, 0, run.stderr);
      const json = JSON.parse(readFileSync(join(out, 'capacity.json'), 'utf8')) as { usl: { fit: { sigma: number; kappa: number; lambda: number } } };
      assert.ok(Math.abs(json.usl.fit.sigma - 0.05) < 1e-4);
      assert.ok(Math.abs(json.usl.fit.kappa - 0.0002) / 0.0002 < 1e-3);
      assert.ok(existsSync(join(out, 'usl.svg')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
