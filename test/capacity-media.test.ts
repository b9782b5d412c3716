// The capacity model's media tier (issue 19): sized from what bench/media-http.ts
// measured one gateway core to carry (test/fixtures/capacity/bench-media.json is a
// real run on the 2-core dev box; its `command` says which), "not measured" without it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../server/common/paths';
import { readResults } from '../tools/capacity-model/adapters';
import { asBenchRun, type MediaFigures } from '../tools/capacity-model/bench-run';
import { SEED_FLEET_MODEL } from '../tools/capacity-model/fleet-model';
import { deriveLoad } from '../tools/capacity-model/load';
import { emptyMeasurements, mergeMeasurements } from '../tools/capacity-model/measured';
import { renderTerminal } from '../tools/capacity-model/render/terminal';
import { buildReport } from '../tools/capacity-model/report';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'capacity', 'bench-media.json');
const P99 = SEED_FLEET_MODEL.delivery_latency_ms_max;
const figures = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { figures: MediaFigures }).figures;

test('the media bench run gives bytes per gateway core for upload and download', () => {
  const m = readResults(FIXTURE, P99);
  assert.equal(m.figures.media_upload_bytes_per_core_s!.value, figures.upload_mb_per_gateway_cpu_s * 1e6);
  assert.equal(m.figures.media_download_bytes_per_core_s!.value, figures.download_mb_per_gateway_cpu_s * 1e6);
  assert.match(m.figures.media_upload_bytes_per_core_s!.note!, /embedded blob store.*20\/20 verified/);
  assert.equal(m.machine, undefined, 'the bench box is quoted, not taken as the node');
});

test('the media tier: upload and download core-seconds add up on a node\'s cores; the seed\'s media needs that many nodes', () => {
  const measured = mergeMeasurements([readResults(FIXTURE, P99), { ...emptyMeasurements(), machine: { cpus: 16 } }]);
  const report = buildReport(SEED_FLEET_MODEL, measured);
  const media = report.fleet.tiers.find((t) => t.tier === 'media')!;
  const load = deriveLoad(SEED_FLEET_MODEL);
  const cores = load.media_upload_bytes_per_s_peak / (figures.upload_mb_per_gateway_cpu_s * 1e6) +
    load.media_download_bytes_per_s_peak / (figures.download_mb_per_gateway_cpu_s * 1e6);
  const cpu = media.constraints.find((c) => c.name === 'transfer (CPU)')!;
  assert.ok(Math.abs(cpu.demand - cores) < 1e-6 * cores);
  assert.equal(cpu.nodes, Math.ceil(cores / (16 * SEED_FLEET_MODEL.node_utilisation_max)));
  assert.equal(cpu.basis, 'measured');
  assert.ok(media.nodes! >= media.nodes_required! + 1, 'headroom for a node or zone loss');
  assert.match(renderTerminal(report), /Media nodes/);
});

test('without the media bench the tier says "not measured" and has no count', () => {
  const report = buildReport(SEED_FLEET_MODEL, emptyMeasurements());
  const media = report.fleet.tiers.find((t) => t.tier === 'media')!;
  const cpu = media.constraints.find((c) => c.name === 'transfer (CPU)')!;
  assert.equal(cpu.basis, 'not measured');
  assert.equal(media.complete, false);
});

test('a media bench file with a missing figure is refused, naming the file and the field', () => {
  const run = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { figures: Record<string, unknown> };
  delete run.figures.download_mb_per_gateway_cpu_s;
  assert.throws(() => asBenchRun(run, 'bad-media.json'), /bad-media\.json: not a valid bench run \(figures\.download_mb_per_gateway_cpu_s must be a positive number/);
});
