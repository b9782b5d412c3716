// The ScyllaDB tier from a measured store: bench/scylla-store.ts --json (a real
// run on a local Cassandra 5 node, kept in test/fixtures/capacity) gives the
// Cassandra CPU per message of a chat node's tick; the tier's writes row is then
// CPU-bound and the tier is no longer a floor. A file that cannot be one
// replica's cost (an older file, RF 3, a node the bench did not start) gives a
// note and no figure.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../server/common/paths';
import { readResults } from '../tools/capacity-model/adapters';
import { SEED_FLEET_MODEL } from '../tools/capacity-model/fleet-model';
import { deriveLoad } from '../tools/capacity-model/load';
import { projectFleet } from '../tools/capacity-model/projection';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'capacity', 'bench-scylla-store.json');
const P99 = SEED_FLEET_MODEL.delivery_latency_ms_max;

function variantOf(edit: (j: Record<string, unknown>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'store-bench-'));
  const j = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown>;
  edit(j);
  const path = join(dir, 'scylla-store.json');
  writeFileSync(path, JSON.stringify(j));
  return path;
}

describe('bench/scylla-store.ts --json in the capacity model', () => {
  test('one node it started at RF 1: the store tick\'s Cassandra CPU per message, at the largest batch', () => {
    const j = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { results: { variant: string; batch: number; cassandraCpuUsPerMsg: number }[] };
    const ticks = j.results.filter((r) => r.variant === 'store tick');
    const largest = ticks.reduce((a, b) => (b.batch > a.batch ? b : a));
    const m = readResults(FIXTURE, P99);
    const f = m.figures.store_cpu_us_per_msg!;
    assert.equal(f.value, largest.cassandraCpuUsPerMsg);
    assert.equal(f.engine, 'cassandra');
    assert.match(f.note!, /upper bound/);
  });

  test('the ScyllaDB tier is sized by it (CPU-bound writes vs disk) and is no longer a floor', () => {
    const measured = readResults(FIXTURE, P99);
    const load = deriveLoad(SEED_FLEET_MODEL);
    const scylla = projectFleet(SEED_FLEET_MODEL, load, measured, { chat_facts: false }).tiers.find((t) => t.tier === 'scylla')!;
    const w = scylla.constraints.find((c) => c.name === 'writes (CPU-bound)')!;
    const us = measured.figures.store_cpu_us_per_msg!.value;
    const usable = (SEED_FLEET_MODEL.store_node_cores * 1e6 / us) * SEED_FLEET_MODEL.node_utilisation_max;
    assert.equal(w.nodes, Math.ceil(load.sends_per_s_peak * SEED_FLEET_MODEL.replication_factor / usable));
    assert.equal(scylla.complete, true);
    assert.ok(!scylla.constraints.some((c) => c.kind === 'main' && c.basis === 'not measured'));
  });

  for (const [what, edit] of [
    ['a file from before the bench recorded RF and node', (j: Record<string, unknown>) => { delete j.replication_factor; delete j.own_node; }],
    ['RF 3', (j: Record<string, unknown>) => { j.replication_factor = 3; }],
    ['a node the bench did not start', (j: Record<string, unknown>) => { j.own_node = false; }],
  ] as const) {
    test(`${what}: a note, no figure`, () => {
      const path = variantOf(edit);
      try {
        const m = readResults(path, P99);
        assert.equal(m.figures.store_cpu_us_per_msg, undefined);
        assert.equal(m.notes.length, 1);
      } finally {
        rmSync(join(path, '..'), { recursive: true, force: true });
      }
    });
  }

  test('a result without its fields is refused, naming it', () => {
    const path = variantOf((j) => { (j.results as unknown[])[0] = { variant: 'store tick' }; });
    try {
      assert.throws(() => readResults(path, P99), /results\[0\] is not a store bench result/);
    } finally {
      rmSync(join(path, '..'), { recursive: true, force: true });
    }
  });
});
