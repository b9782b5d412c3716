// The capacity model reads the multi-node benches' --json files instead of
// assuming their figures: the chat tier's coordination ratio, the failover time
// and the re-accept ratio through the load balancer. Each is read from a file,
// used where it belongs, and "not measured" when absent; the 1,024-chat-node
// limit of the id layout is printed when the projection passes it; a malformed
// file is an error that names it.
//
// test/fixtures/capacity/bench-{coordination,failover,reaccept,peers}.json are real
// runs on the 2-core dev box (their `command` says which); capacity-probe.json
// and full-vs-bare.json are hand-written fixtures.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { takeJsonFlag } from '../bench/bench-json';
import { REPO_ROOT } from '../server/common/paths';
import { PARTITIONS, partitionsOf } from '../server/common/partitions';
import { readResults } from '../tools/capacity-model/adapters';
import type { CoordinationFigures, FailoverFigures, ReacceptFigures } from '../tools/capacity-model/bench-run';
import { partitionSpread } from '../tools/capacity-model/chat-tier';
import { SEED_FLEET_MODEL } from '../tools/capacity-model/fleet-model';
import { deriveLoad } from '../tools/capacity-model/load';
import { mergeMeasurements, parseAssumptions, type Measurements } from '../tools/capacity-model/measured';
import { renderTerminal } from '../tools/capacity-model/render/terminal';
import { buildReport, type CapacityReport } from '../tools/capacity-model/report';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'capacity');
const P99 = SEED_FLEET_MODEL.delivery_latency_ms_max;
const UTIL = SEED_FLEET_MODEL.node_utilisation_max;
const BUDGET_S = (1 - SEED_FLEET_MODEL.availability_target) * 365 * 86_400;

const fixture = (name: string) => join(FIXTURES, name);
const figuresOf = <T>(name: string) => (JSON.parse(readFileSync(fixture(name), 'utf8')) as { figures: T }).figures;
const read = (...names: string[]): Measurements => mergeMeasurements(names.map((n) => readResults(fixture(n), P99)));
const chatOf = (r: CapacityReport) => r.fleet.tiers.find((t) => t.tier === 'chat')!;

describe('the bench runs as measured figures', () => {
  test('coordination: the chat-tier ratio, and the bench machine is quoted, not taken as the node', () => {
    const f = figuresOf<CoordinationFigures>('bench-coordination.json');
    const m = read('bench-coordination.json');
    assert.equal(m.figures.chat_coordination_ratio!.value, f.ratio_chat);
    assert.equal(m.figures.chat_coordination_ratio!.basis, 'measured');
    assert.match(m.figures.chat_coordination_ratio!.note!, /on 1x1, .* on 1x3/);
    assert.equal(m.machine, undefined);
    assert.deepEqual(Object.keys(m.figures), ['chat_coordination_ratio']);
  });

  test('failover: p50 and max in seconds; fewer than 5 kills is said', () => {
    const f = figuresOf<FailoverFigures>('bench-failover.json');
    const m = read('bench-failover.json');
    assert.equal(m.figures.chat_failover_s_p50!.value, f.served_again_ms_p50 / 1000);
    assert.equal(m.figures.chat_failover_s_max!.value, f.served_again_ms_max / 1000);
    assert.ok(f.kills < 5 && m.notes.some((n) => /asks for >= 5/.test(n)));
  });

  test('peers: a comparison, not a fleet figure: read, validated, and only noted', () => {
    const m = read('bench-peers.json');
    assert.deepEqual(Object.keys(m.figures), []);
    assert.ok(m.notes.some((n) => /peers comparison .* gives no fleet figure/.test(n)));
  });

  test('reaccept: the HAProxy / direct ratio', () => {
    const f = figuresOf<ReacceptFigures>('bench-reaccept.json');
    assert.equal(read('bench-reaccept.json').figures.reaccept_via_lb_ratio!.value, f.ratio_haproxy_direct);
  });
});

describe('a malformed bench file is an error naming the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'capacity-bench-bad-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const good = JSON.parse(readFileSync(fixture('bench-failover.json'), 'utf8')) as Record<string, unknown>;
  const cases: [string, unknown, RegExp][] = [
    ['missing-max.json', { ...good, figures: { ...(good.figures as object), served_again_ms_max: undefined } }, /figures\.served_again_ms_max must be a positive number/],
    ['p50-above-max.json', { ...good, figures: { ...(good.figures as object), served_again_ms_p50: 99_999 } }, /p50 is above/],
    ['version.json', { ...good, version: 2 }, /version 2: this model reads version 1/],
    ['no-machine.json', { ...good, machine: undefined }, /machine must be an object/],
    ['peers-no-sides.json', { ...JSON.parse(readFileSync(fixture('bench-peers.json'), 'utf8')), figures: { users: 200, step_s: 4, rates: [2000], sides: [], full_over_peer: {} } }, /figures\.sides must be a non-empty array/],
    ['ratio-text.json', { ...JSON.parse(readFileSync(fixture('bench-reaccept.json'), 'utf8')), figures: { ratio_haproxy_direct: '0.7' } }, /figures\.connections must be a positive number/],
  ];
  for (const [name, json, why] of cases) {
    test(name, () => {
      const file = join(dir, name);
      writeFileSync(file, JSON.stringify(json));
      assert.throws(() => readResults(file, P99), (err: Error) => err.message.startsWith(`${file}: not a valid bench run`) && why.test(err.message));
    });
  }
  test('not JSON, and not an object', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{"kind": "coordination",');
    assert.throws(() => readResults(file, P99), new RegExp(`^Error: ${file}: not readable JSON`));
    writeFileSync(file, 'null');
    assert.throws(() => readResults(file, P99), new RegExp(`${file}: not a JSON object`));
  });
});

describe('the projection uses them', () => {
  const base = ['full-vs-bare.json', 'capacity-probe.json'];

  test('chat CPU-bound: single-node CPU per message / the coordination ratio; without the ratio, not measured', () => {
    const with_ = buildReport(SEED_FLEET_MODEL, read(...base, 'bench-coordination.json'));
    const m = with_.measured.figures;
    const cpu = chatOf(with_).constraints.find((c) => c.kind === 'cpu')!;
    const cores = with_.measured.machine!.cpus!;
    assert.ok(Math.abs(cpu.capacity_per_node! - (cores * 1e6) / (m.chat_cpu_us_per_msg!.value / m.chat_coordination_ratio!.value)) < 1e-6);
    assert.equal(cpu.nodes, Math.ceil(with_.load.chat_msg_equivalents_per_s_peak / (cpu.capacity_per_node! * UTIL)));
    assert.match(cpu.note!, /coordination ratio 0\.54/);

    const without = buildReport(SEED_FLEET_MODEL, read(...base));
    const none = chatOf(without).constraints.find((c) => c.kind === 'cpu')!;
    assert.equal(none.basis, 'not measured');
    assert.equal(none.nodes, null);
    assert.equal(chatOf(without).nodes_cpu_basis, null);
    assert.match(renderTerminal(without), /Chat-service nodes .* not measured\n/);
    assert.match(renderTerminal(without), /chat_coordination_ratio\s+not measured/);
  });

  test('more chat nodes than 1,024: the output says the code cannot run them', () => {
    const r = buildReport(SEED_FLEET_MODEL, read(...base, 'bench-coordination.json'));
    const chat = chatOf(r);
    assert.ok(chat.nodes! > PARTITIONS, `the fixtures project ${chat.nodes} chat nodes`);
    assert.ok(chat.notes.some((n) => n.includes(`needs ${chat.nodes!.toLocaleString('en')} chat nodes; the code cannot run that many`)));
    assert.ok(chat.notes.some((n) => /A wider partition field/.test(n)));
    const out = renderTerminal(r);
    assert.match(out, new RegExp(`Chat-service nodes \\(order, persist, fan out\\)\\s+${chat.nodes}: over the code's 1024`));
    assert.doesNotMatch(out, /A chat is owned by one node \(rendezvous hashing\)/);
  });

  test('within 1,024: no limit message, and the rendezvous spread of the partitions is stated', () => {
    const r = buildReport(SEED_FLEET_MODEL, parseAssumptions(['chat_msgs_per_s_at_p99=50000']));
    const chat = chatOf(r);
    assert.ok(chat.nodes! <= PARTITIONS);
    assert.ok(!chat.notes.some((n) => /cannot run/.test(n)));
    const spread = partitionSpread(chat.nodes!)!;
    assert.ok(chat.notes.some((n) => n.includes(`gives the busiest node ${spread.partitions_max} partitions`)));
    assert.ok(chat.notes.some((n) => /1,024 partitions.*one chat node at a time.*etcd lease \+ rendezvous hashing.*after its lease/.test(n)));
  });

  test('message ids: the peak per partition against 4 ids/ms; past it the output says ids run ahead of the clock', () => {
    const ok = chatOf(buildReport(SEED_FLEET_MODEL, parseAssumptions([]))).notes.find((n) => n.startsWith('Message ids'))!;
    const perPartition = deriveLoad(SEED_FLEET_MODEL).sends_per_s_peak / PARTITIONS;
    assert.ok(ok.includes(`${Math.round(perPartition).toLocaleString('en')}/s per partition`) && ok.endsWith(`${((perPartition / 4000) * 100).toFixed(0)}% of it.`));
    const doubled = { ...SEED_FLEET_MODEL, peak_to_average_ratio: 4 };
    assert.match(chatOf(buildReport(doubled, parseAssumptions([]))).notes.join('\n'), /1\.13x it, so ids would run ahead of the clock/);
  });

  test('the spread is the code\'s own assignment (partitionsOf), not an estimate', () => {
    const names = ['chat-0', 'chat-1', 'chat-2'];
    const owned = names.map((n) => partitionsOf(n, names).length);
    assert.equal(owned.reduce((a, b) => a + b, 0), PARTITIONS);
    assert.equal(partitionSpread(3)!.partitions_max, Math.max(...owned));
    assert.equal(partitionSpread(PARTITIONS + 1), null);
  });

  test('failure what-if: one chat node and a zone lost, unserved for the failover max; absent, not measured', () => {
    const model = SEED_FLEET_MODEL;
    const m = mergeMeasurements([read('bench-failover.json'), parseAssumptions(['chat_msgs_per_s_at_p99=50000', 'gateway_msgs_per_s_at_p99=20000'])]);
    const r = buildReport(model, m);
    const n = chatOf(r).nodes!;
    const t = m.figures.chat_failover_s_max!.value;
    const node = r.failure.chat_cases.find((c) => c.id === 'chat-node')!;
    assert.equal(node.unserved_s, t);
    assert.equal(node.error_budget_share, ((1 / n) * t) / BUDGET_S);
    const zone = r.failure.chat_cases.find((c) => c.id === 'zone')!;
    assert.equal(zone.title, 'a third of every tier lost (one zone of 3)');
    assert.equal(zone.chat_nodes_lost, Math.ceil(n / 3));
    assert.equal(zone.error_budget_share, ((Math.ceil(n / 3) / n) * t) / BUDGET_S);
    assert.equal(zone.error_budget_share_with_gateways, null, 'the gateways\' accept rate is not measured here');

    const none = buildReport(model, parseAssumptions(['chat_msgs_per_s_at_p99=50000']));
    assert.ok(none.failure.chat_cases.every((c) => c.unserved_s === null && c.error_budget_share === null));
    assert.match(renderTerminal(none), /one chat node lost\s+1 of \d+\s+[\d.]+%\s+not measured\s+not measured/);
  });

  test('re-accept through the load balancer = the probe\'s rate x the ratio; without the ratio, labelled straight to a gateway', () => {
    const lb = buildReport(SEED_FLEET_MODEL, read(...base, 'bench-reaccept.json'));
    const ratio = lb.measured.figures.reaccept_via_lb_ratio!.value;
    assert.equal(lb.failure.reconnect_accept_per_s, 5000 * ratio);
    assert.equal(lb.failure.reconnect_path, 'load balancer');
    const gw = lb.failure.cases.find((c) => c.id === 'gateway')!;
    assert.equal(gw.accept_per_s_total, 5000 * ratio * gw.gateways_surviving!);
    assert.match(renderTerminal(lb), /through the load balancer/);

    const direct = buildReport(SEED_FLEET_MODEL, read(...base));
    assert.equal(direct.failure.reconnect_accept_per_s, 5000);
    assert.equal(direct.failure.reconnect_path, 'direct');
    assert.ok(direct.failure.notes.some((n) => /through the load balancer it is not measured/.test(n)));
  });

  test('Redis rows are labelled as the model\'s assumptions; no TLS claim', () => {
    const out = renderTerminal(buildReport(SEED_FLEET_MODEL, read(...base)));
    assert.match(out, /Memory is a model assumption: one route entry per connection/);
    assert.match(out, /This tier is the model's, not the code's/);
    assert.doesNotMatch(out, /TLS \(at the load balancer\)/);
  });
});

describe('the load generator summary of a multi-node run', () => {
  test('several chat processes: no per-node chat throughput or CPU from it', () => {
    const json = JSON.parse(readFileSync(fixture('loadgen-breakpoint-summary.json'), 'utf8')) as { system: Record<string, unknown> };
    json.system = { 'chat-0': json.system.chat, 'chat-1': json.system.chat, 'gateway-0': json.system['gateway-0'] };
    const dir = mkdtempSync(join(tmpdir(), 'capacity-multi-'));
    try {
      const file = join(dir, 'summary.json');
      writeFileSync(file, JSON.stringify(json));
      const m = readResults(file, P99);
      assert.equal(m.figures.chat_msgs_per_s_at_p99, undefined);
      assert.equal(m.figures.chat_cpu_us_per_msg, undefined);
      assert.equal(m.figures.gateway_msgs_per_s_at_p99!.value, 9500, 'one gateway: its figures stay');
      assert.ok(m.notes.some((n) => /2 chat processes: the run measured the tier, not one node/.test(n)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench --json flag', () => {
  test('taken out of argv before the bench parses its own flags', () => {
    assert.deepEqual(takeJsonFlag(['--kills', '2', '--json', 'x.json', '--chats', '3']), { json: 'x.json', rest: ['--kills', '2', '--chats', '3'] });
    assert.deepEqual(takeJsonFlag(['--kills', '2']), { json: null, rest: ['--kills', '2'] });
    assert.throws(() => takeJsonFlag(['--json']), /--json needs a file name/);
    assert.throws(() => takeJsonFlag(['--json', '--kills', '2']), /--json needs a file name/);
  });
});
