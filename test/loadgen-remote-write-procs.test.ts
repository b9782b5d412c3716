// Remote write from a multi-process run (`loadgen run --procs 2`): each shard
// process pushes its own share under the run's run_id with its own `shard`
// label, the parent pushes nothing of its own, and in a real Prometheus (its
// remote-write receiver, scripts/prometheus.sh) the shards' last values add up
// to the merged summary's counts, the scheduled count included: nothing is
// lost or counted twice.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/common/paths';
import type { RunSummary } from '../loadgen/engine/summary';
import { runNode } from './helpers/run-node';
import { startRemoteWritePrometheus, type RemoteWritePrometheus } from './helpers/prometheus-remote-write';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const PROCS = 2;
const COUNTERS = ['messages_sent', 'messages_delivered', 'sends_scheduled', 'sends_ok', 'iterations', 'data_sent'] as const;

describe('remote write with --procs', { timeout: 240_000 }, () => {
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}-rw-procs-test`;
  const outDir = join(REPO_ROOT, 'results', runId);
  let prom: RemoteWritePrometheus | null = null;
  let merged: RunSummary;
  let shards: RunSummary[] = [];
  let stderr = '';
  const promName = (c: string) => `wa_loadgen_${c}${c === 'data_sent' ? '_bytes' : ''}_total`;

  before(async () => {
    prom = await startRemoteWritePrometheus();
    const run = await runNode(CLI, ['run', 'smoke', '--procs', String(PROCS), '--duration', '3s', '--quiet', '--metrics-port', 'off',
      '--out', outDir, '--run-id', runId, '--remote-write', prom.writeUrl], { cwd: REPO_ROOT, timeoutMs: 180_000, name: 'loadgen run --procs --remote-write' });
    stderr = run.stderr;
    assert.ok(run.code === 0 || run.code === 99, `loadgen run exited ${run.code}\n${run.stderr}`);
    merged = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as RunSummary;
    shards = Array.from({ length: PROCS }, (_, i) => JSON.parse(readFileSync(join(outDir, `shard-${i + 1}`, 'summary.json'), 'utf8')) as RunSummary);
  });

  after(() => prom?.stop());

  it('every shard pushes under the run\'s run_id with its own shard label; nothing else is pushed', async () => {
    const r = await prom!.query(`count by (run_id, shard) ({job="wa-loadgen"})`);
    assert.equal(r.status, 'success');
    assert.deepEqual(r.data!.result.map((s) => `${s.metric.run_id} ${s.metric.shard}`).sort(),
      Array.from({ length: PROCS }, (_, i) => `${runId} ${i + 1}/${PROCS}`));
    assert.equal((stderr.match(/remote write: \d+ samples in \d+ requests, 0 dropped/g) ?? []).length, PROCS, stderr);
  });

  it('the shards\' last values add up to the merged summary\'s counts, and each is its own shard\'s', async () => {
    assert.ok(merged.metrics.messages_sent!.values.count! > 1000, `sent ${merged.metrics.messages_sent!.values.count}`);
    for (const c of COUNTERS) {
      assert.equal(await prom!.lastSum(`${promName(c)}{run_id="${runId}"}`), merged.metrics[c]!.values.count, `${c}, all shards`);
      for (let i = 0; i < PROCS; i++) {
        const own = shards[i]!.metrics[c]!.values.count;
        assert.equal(await prom!.lastSum(`${promName(c)}{run_id="${runId}",shard="${i + 1}/${PROCS}"}`), own, `${c}, shard ${i + 1}`);
      }
    }
  });

  it('the scheduled count adds up to the merged sends_scheduled: each shard counts its own iterations', async () => {
    const scheduled = merged.metrics.sends_scheduled!.values.count!;
    assert.equal(await prom!.lastSum(`wa_loadgen_messages_scheduled_total{run_id="${runId}"}`), scheduled);
    for (let i = 0; i < PROCS; i++) {
      assert.equal(await prom!.lastSum(`wa_loadgen_messages_scheduled_total{run_id="${runId}",shard="${i + 1}/${PROCS}"}`),
        shards[i]!.metrics.sends_scheduled!.values.count, `shard ${i + 1}`);
    }
  });

  it('one sample per interval per shard (no interval pushed twice), none dropped', async () => {
    const series = await prom!.samples(`wa_loadgen_messages_sent_total{run_id="${runId}"}`);
    assert.equal(series.length, PROCS);
    for (const s of series) {
      const i = Number(s.metric.shard!.split('/')[0]) - 1;
      assert.equal(s.values.length, shards[i]!.timeline.length, `shard ${s.metric.shard}`);
      const ts = s.values.map(([t]) => t);
      assert.deepEqual(ts, [...ts].sort((a, b) => a - b));
    }
    assert.ok(!merged.loadgen.warnings.some((w) => w.includes('remote write')), merged.loadgen.warnings.join('\n'));
  });
});
