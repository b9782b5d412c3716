// Remote write carries a run's fault windows: a run of a scenario that kills a
// gateway and freezes the chat service (the system loadgen starts itself)
// pushes wa_loadgen_fault_active per fault into a real Prometheus (its
// remote-write receiver, scripts/prometheus.sh). Each interval's sample is 1
// exactly when the fault's window in the run's own fault report overlaps that
// interval (paired with the interval by wa_loadgen_elapsed_seconds of the same
// timestamp), and the load-run dashboard's Faults annotation returns both.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/common/paths';
import type { RunSummary } from '../loadgen/engine/summary';
import { runNode } from './helpers/run-node';
import { startRemoteWritePrometheus, type RemoteWritePrometheus } from './helpers/prometheus-remote-write';
import { annotationQueries } from './helpers/dashboard-queries';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const FIXTURE = 'test/fixtures/loadgen/scenarios/fault-window.ts';

describe('remote write: fault windows', { timeout: 180_000 }, () => {
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}-rw-faults-test`;
  const outDir = join(REPO_ROOT, 'results', runId);
  let prom: RemoteWritePrometheus | null = null;
  let summary: RunSummary;
  let stderr = '';

  before(async () => {
    prom = await startRemoteWritePrometheus();
    const run = await runNode(CLI, ['run', FIXTURE, '--quiet', '--metrics-port', 'off', '--out', outDir, '--run-id', runId,
      '--remote-write', prom.writeUrl], { cwd: REPO_ROOT, timeoutMs: 120_000, name: 'loadgen run faults --remote-write' });
    stderr = run.stderr;
    assert.ok(run.code === 0 || run.code === 99, `loadgen run exited ${run.code}\n${run.stderr}`);
    summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as RunSummary;
  });

  after(() => prom?.stop());

  it('each fault\'s series is 1 in exactly the intervals its reported window overlaps, 0 before and after', async () => {
    const faults = summary.reports.faults!.faults;
    assert.equal(faults.length, 2);
    const elapsedAt = new Map((await prom!.samples(`wa_loadgen_elapsed_seconds{run_id="${runId}"}`))[0]!.values.map(([t, v]) => [t, v]));
    const series = await prom!.samples(`wa_loadgen_fault_active{run_id="${runId}"}`);
    assert.deepEqual(series.map((s) => [s.metric.fault_id, s.metric.fault]).sort(), faults.map((f) => [String(f.id), f.label]).sort());
    const intervalMs = summary.interval_ms;
    for (const f of faults) {
      assert.ok(f.window, `fault #${f.id} ran: ${JSON.stringify(f)}`);
      const s = series.find((x) => x.metric.fault_id === String(f.id))!;
      assert.ok(s.values.length >= summary.timeline.length - 1, `${s.values.length} samples, ${summary.timeline.length} intervals`);
      const [startMs, endMs] = [f.window.start_s * 1000, f.window.end_s * 1000];
      const got: string[] = [];
      const want: string[] = [];
      for (const [t, v] of s.values) {
        const toMs = elapsedAt.get(t)! * 1000;
        assert.ok(Number.isFinite(toMs), `an elapsed sample at ${t}`);
        got.push(`${toMs}:${v}`);
        want.push(`${toMs}:${startMs < toMs && endMs >= toMs - intervalMs ? 1 : 0}`);
      }
      assert.deepEqual(got, want, `fault #${f.id} ${f.label}, window ${startMs}..${endMs} ms`);
      const ones = s.values.filter(([, v]) => v === 1).length;
      assert.ok(ones >= 1 && ones < s.values.length - 2, `fault #${f.id}: ${ones} of ${s.values.length} intervals active`);
      assert.equal(s.values[0]![1], 0, 'not active at the start');
      assert.equal(s.values.at(-1)![1], 0, 'not active at the end');
    }
  });

  it('the load-run dashboard\'s Faults annotation returns both faults of the run, and nothing of another run', async () => {
    const a = annotationQueries().find((q) => q.dashboard === 'WA / Load run' && q.panel === 'annotation: Faults')!;
    const pick = (id: string) => a.expr.replaceAll('$run_id', id);
    const r = await prom!.query(`max_over_time((${pick(runId)})[10m:1s])`);
    assert.equal(r.status, 'success');
    assert.deepEqual(r.data!.result.map((s) => s.metric.fault_id).sort(), summary.reports.faults!.faults.map((f) => String(f.id)).sort());
    const other = await prom!.query(`max_over_time((${pick('some-other-run')})[10m:1s])`);
    assert.equal(other.data!.result.length, 0);
  });

  it('dropped nothing', () => {
    assert.ok(!summary.loadgen.warnings.some((w) => w.includes('remote write')), summary.loadgen.warnings.join('\n'));
    assert.match(stderr, /remote write: \d+ samples in \d+ requests, 0 dropped/);
  });
});
