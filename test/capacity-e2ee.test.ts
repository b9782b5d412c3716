// The capacity model takes end-to-end encryption's measured costs from
// bench/e2ee.ts --json (test/fixtures/capacity/bench-e2ee.json is a real run on
// the 2-core dev box, its `command` says which): the ciphertext overhead
// replaces the model's assumed bytes in bandwidth and storage, and the
// Cassandra prekey take rate sizes the store tier against the model's prekey
// fetches. Without them, the assumption stands and the store note says the
// prekey load is not sized.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../server/common/paths';
import { readResults } from '../tools/capacity-model/adapters';
import type { E2eeFigures } from '../tools/capacity-model/bench-run';
import { SEED_FLEET_MODEL } from '../tools/capacity-model/fleet-model';
import { emptyMeasurements } from '../tools/capacity-model/measured';
import { buildReport } from '../tools/capacity-model/report';

const FILE = join(REPO_ROOT, 'test', 'fixtures', 'capacity', 'bench-e2ee.json');
const m = SEED_FLEET_MODEL;
const figures = () => (JSON.parse(readFileSync(FILE, 'utf8')) as { figures: E2eeFigures }).figures;

describe('the capacity model with end-to-end encryption measured', () => {
  test('the e2ee run gives the ciphertext overhead and the store\'s prekey take rate', () => {
    const f = figures();
    const got = readResults(FILE, m.delivery_latency_ms_max);
    assert.equal(got.figures.e2e_overhead_bytes_per_message!.value, f.overhead_steady_bytes);
    assert.equal(got.figures.e2e_overhead_bytes_per_message!.basis, 'measured');
    assert.equal(got.figures.store_prekey_takes_per_s!.value, f.store_prekey_takes_per_s);
    assert.equal(got.figures.store_prekey_takes_per_s!.engine, 'cassandra');
  });

  test('the measured overhead replaces the assumption in wire bytes, stored bytes and store replication', () => {
    const f = figures();
    assert.notEqual(f.overhead_steady_bytes, m.e2e_overhead_bytes_per_message, 'the fixture differs from the assumption, so the test can tell');
    const assumed = buildReport(m, emptyMeasurements());
    const measured = buildReport(m, readResults(FILE, m.delivery_latency_ms_max));
    assert.equal(assumed.load.message_wire_bytes, m.message_bytes + m.envelope_bytes_per_message + m.e2e_overhead_bytes_per_message + m.frame_overhead_bytes);
    assert.equal(measured.load.message_wire_bytes, m.message_bytes + m.envelope_bytes_per_message + f.overhead_steady_bytes + m.frame_overhead_bytes);
    assert.equal(measured.load.stored_message_bytes, m.message_bytes + f.overhead_steady_bytes + m.store_row_overhead_bytes);
    assert.equal(measured.model.e2e_overhead_bytes_per_message, f.overhead_steady_bytes, 'the report shows the value it used');
  });

  test('the store tier is sized for prekey takes from the measured rate; without it, the note says they are not sized', () => {
    const f = figures();
    const scylla = (r: ReturnType<typeof buildReport>) => r.fleet.tiers.find((t) => t.tier === 'scylla')!;
    const takes = ((m.users * m.prekey_fetches_per_user_per_day) / 86_400) * m.peak_to_average_ratio * m.devices_per_user;
    const report = buildReport(m, readResults(FILE, m.delivery_latency_ms_max));
    assert.ok(Math.abs(report.load.prekey_takes_per_s_peak - takes) < 1e-6 * takes);
    const row = scylla(report).constraints.find((c) => c.name === 'prekey takes (LWT)')!;
    assert.ok(row, 'a prekey row on the store tier');
    assert.equal(row.demand, takes * m.replication_factor);
    assert.equal(row.nodes, Math.ceil((takes * m.replication_factor) / (f.store_prekey_takes_per_s! * m.node_utilisation_max)));
    const none = scylla(buildReport(m, emptyMeasurements()));
    assert.equal(none.constraints.find((c) => c.name === 'prekey takes (LWT)'), undefined);
    assert.ok(none.notes.some((n) => /Prekey fetches .* are not sized/.test(n)));
  });

  test('a malformed e2ee run is an error naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-capacity-e2ee-'));
    try {
      const bad = join(dir, 'bad.json');
      const run = JSON.parse(readFileSync(FILE, 'utf8')) as { figures: Record<string, unknown> };
      run.figures.overhead_steady_bytes = -3;
      writeFileSync(bad, JSON.stringify(run));
      assert.throws(() => readResults(bad, m.delivery_latency_ms_max), /bad\.json: not a valid bench run .*overhead_steady_bytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
