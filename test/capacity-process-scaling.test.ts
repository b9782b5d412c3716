// The USL over processes of one box: the fit recovers known coefficients from
// CPU per message, refuses what it cannot fit, and the capacity model reads a
// real bench/process-scaling.ts --json file (made on this 2-core box, in
// test/fixtures/capacity) and sizes a many-core node with it instead of the
// model's assumption.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../server/common/paths';
import { readResults } from '../tools/capacity-model/adapters';
import { SEED_FLEET_MODEL } from '../tools/capacity-model/fleet-model';
import { effectiveCores } from '../tools/capacity-model/hardware';
import { deriveLoad } from '../tools/capacity-model/load';
import { mergeMeasurements, parseAssumptions } from '../tools/capacity-model/measured';
import { applyOverrides } from '../tools/capacity-model/model';
import { fitProcessScaling } from '../tools/capacity-model/process-scaling';
import { projectFleet } from '../tools/capacity-model/projection';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'capacity', 'bench-process-scaling.json');
const P99 = SEED_FLEET_MODEL.delivery_latency_ms_max;

describe('USL over processes from CPU per message', () => {
  test('recovers sigma and kappa from costs made with them', () => {
    const sigma = 0.1;
    const kappa = 0.002;
    const points = [1, 2, 4, 8].map((n) => ({ processes: n, cpu_us_per_msg: 50 * (1 + sigma * (n - 1) + kappa * n * (n - 1)) }));
    const fit = fitProcessScaling(points);
    assert.ok(Math.abs(fit.sigma - sigma) < 1e-9, `sigma ${fit.sigma}`);
    assert.ok(Math.abs(fit.kappa - kappa) < 1e-9, `kappa ${fit.kappa}`);
    assert.deepEqual(fit.inflation.map((x) => Number(x.toFixed(6))), points.map((p) => Number((p.cpu_us_per_msg / 50).toFixed(6))));
  });

  test('never returns negative coefficients: cheaper with more processes fits as no contention', () => {
    const fit = fitProcessScaling([{ processes: 1, cpu_us_per_msg: 100 }, { processes: 2, cpu_us_per_msg: 90 }, { processes: 4, cpu_us_per_msg: 95 }]);
    assert.equal(fit.sigma, 0);
    assert.equal(fit.kappa, 0);
  });

  test('refuses a fit without the 1-process point or with nothing else', () => {
    assert.throws(() => fitProcessScaling([{ processes: 2, cpu_us_per_msg: 1 }, { processes: 4, cpu_us_per_msg: 2 }]), /no 1-process point/);
    assert.throws(() => fitProcessScaling([{ processes: 1, cpu_us_per_msg: 1 }]), /more than one process/);
  });
});

describe('the capacity model reads bench/process-scaling.ts --json', () => {
  test('the measured coefficients replace the model\'s assumption on a 32-core node', () => {
    const file = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { figures: { sigma: number; kappa: number }; machine: { cpus: number } };
    const m = readResults(FIXTURE, P99);
    assert.equal(m.figures.process_scaling_sigma!.value, file.figures.sigma);
    assert.equal(m.figures.process_scaling_sigma!.basis, 'measured');
    assert.match(m.figures.process_scaling_sigma!.note!, /shared/);

    const measured = mergeMeasurements([parseAssumptions(['gateway_cpu_us_per_msg=100', 'gateway_msgs_per_s_at_p99=4000']), m]);
    measured.machine = { cpus: 2 };
    const model = applyOverrides(SEED_FLEET_MODEL, ['node_cores=32']);
    const gw = projectFleet(model, deriveLoad(model), measured, { chat_facts: false }).tiers.find((t) => t.tier === 'gateway')!;
    const row = gw.constraints.find((c) => c.kind === 'main' && c.name.startsWith('throughput'))!;
    const expected = effectiveCores(32, file.figures.sigma, file.figures.kappa) * 1e4;
    assert.ok(Math.abs(row.capacity_per_node! - expected) < 1e-6, `${row.capacity_per_node} vs ${expected}`);
    assert.match(row.note!, /measured across processes/);
  });

  test('a file with a wrong field is refused, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'procscale-'));
    try {
      const bad = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { figures: { sides: unknown[] } };
      bad.figures.sides = [];
      const path = join(dir, 'bad.json');
      writeFileSync(path, JSON.stringify(bad));
      assert.throws(() => readResults(path, P99), /figures\.sides must be a non-empty array/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
