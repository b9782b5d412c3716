// Prometheus remote write: a real run of the smoke scenario pushes its series
// to a real Prometheus (Debian's, started by scripts/prometheus.sh with its
// remote-write receiver on a free loopback port, nothing scraped), and a query
// returns the run's series under its run_id. The output's drop accounting is
// checked in process against a real HTTP server that refuses, then one that
// never answers (the queue fills): every dropped sample is counted, by reason.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../server/common/paths';
import { runNode } from './helpers/run-node';
import { startRemoteWritePrometheus, type RemoteWritePrometheus } from './helpers/prometheus-remote-write';
import type { RunSummary } from '../loadgen/engine/summary';
import { MetricsAggregate } from '../loadgen/metrics/aggregate';
import { intervalRecord } from '../loadgen/engine/timeline';
import type { LiveStatus } from '../loadgen/engine/output';
import type { RunPlan } from '../loadgen/model/plan';
import { messagesDue } from '../loadgen/engine/schedule';
import { remoteWriteOutput, runIdLabel } from '../loadgen/outputs/remote-write';
import { REMOTE_WRITE_LIMITS } from '../loadgen/outputs/remote-write-limits';
import { decodeWriteRequest } from '../loadgen/outputs/remote-write-proto';
import { snappyDecode, snappyEncodeLiteral } from '../loadgen/outputs/snappy-block';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');

describe('snappy block, literals only', () => {
  it('round-trips every literal length class (1-byte tag, 1 and 2 length bytes, several elements)', () => {
    for (const n of [0, 1, 59, 60, 61, 255, 256, 257, 65_536, 65_537, 200_000]) {
      const input = Buffer.alloc(n);
      for (let i = 0; i < n; i++) input[i] = (i * 31 + 7) & 0xff;
      const block = snappyEncodeLiteral(input);
      assert.deepEqual(snappyDecode(block), input, `${n} bytes`);
    }
  });
});

describe('remote write into a real Prometheus', { timeout: 180_000 }, () => {
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}-remote-write-test`;
  const outDir = join(REPO_ROOT, 'results', runId);
  let prom: RemoteWritePrometheus | null = null;
  let summary: RunSummary;
  let stderr = '';
  const query = (promql: string) => prom!.query(promql);

  before(async () => {
    prom = await startRemoteWritePrometheus();
    const run = await runNode(CLI, ['run', 'smoke', '--duration', '3s', '--quiet', '--metrics-port', 'off', '--out', outDir, '--run-id', runId,
      '--remote-write', prom.writeUrl], { cwd: REPO_ROOT, timeoutMs: 90_000, name: 'loadgen run --remote-write' });
    assert.ok(run.code === 0 || run.code === 99, `loadgen run exited ${run.code}\n${run.stderr}`);
    stderr = run.stderr;
    summary = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8')) as RunSummary;
  });

  after(() => prom?.stop());

  it('a query returns the run\'s series under its run_id, and its last values are the summary\'s counts', async () => {
    const sent = summary.metrics.messages_sent!.values.count!;
    assert.ok(sent > 1000, `the run sent ${sent}`);
    const r = await query(`wa_loadgen_messages_sent_total{run_id="${runId}"}`);
    assert.equal(r.status, 'success');
    assert.equal(r.data!.result.length, 1, JSON.stringify(r.data));
    const s = r.data!.result[0]!;
    assert.deepEqual({ run_id: s.metric.run_id, scenario: s.metric.scenario, shard: s.metric.shard, job: s.metric.job },
      { run_id: runId, scenario: 'smoke', shard: '1/1', job: 'wa-loadgen' });
    // The last interval (the grace included) carries the run's final counts.
    for (const c of ['messages_sent', 'messages_delivered', 'sends_scheduled', 'sends_ok'] as const) {
      assert.equal(await prom!.lastSum(`wa_loadgen_${c}_total{run_id="${runId}"}`), summary.metrics[c]!.values.count, c);
    }
  });

  it('carries the schedule: the scheduled count is the summary\'s sends_scheduled, the target rates add up to it', async () => {
    const scheduled = summary.metrics.sends_scheduled!.values.count!;
    assert.ok(scheduled > 1000, `scheduled ${scheduled}`);
    assert.equal(await prom!.lastSum(`wa_loadgen_messages_scheduled_total{run_id="${runId}"}`), scheduled);
    const rates = await prom!.samples(`wa_loadgen_target_rate{run_id="${runId}"}`);
    assert.deepEqual(rates.map((r) => r.metric.executor).sort(), ['chat', 'warmup']);
    // One sample per interval, each the executor's rate over it: rate x interval summed over the run is the plan's
    // area under the rate curves, and the executors start the next whole iteration of each (2571.4 -> 2572 here).
    const intervalS = summary.interval_ms / 1000;
    const due = rates.reduce((a, r) => a + r.values.reduce((b, [, v]) => b + v * intervalS, 0), 0);
    assert.ok(Math.abs(due - messagesDue(summary.plan, 3_600_000)) < 1e-6, `target rates add up to ${due}`);
    assert.ok(scheduled - due >= 0 && scheduled - due < 2, `target rates add up to ${due}, scheduled ${scheduled}`);
    // The warm-up's rate is half the chat's (500 vs 1000 msg/s at --scale 1) where each ran a whole interval.
    const peak = (name: string) => Math.max(...rates.find((r) => r.metric.executor === name)!.values.map(([, v]) => v));
    assert.ok(peak('chat') > 1.5 * peak('warmup'), `chat ${peak('chat')}/s, warmup ${peak('warmup')}/s`);
  });

  it('every series pushed carries the run_id; trends arrive as interval quantiles, executors as phases', async () => {
    const all = await query(`{job="wa-loadgen"}`);
    assert.ok(all.data!.result.length > 20, `${all.data!.result.length} series`);
    for (const s of all.data!.result) assert.equal(s.metric.run_id, runId, JSON.stringify(s.metric));
    const q = await query(`wa_loadgen_delivery_latency_interval_seconds{run_id="${runId}"}`);
    assert.deepEqual(q.data!.result.map((s) => s.metric.quantile).sort(), ['0.5', '0.95', '0.99', '1']);
    const phases = await query(`max_over_time(wa_loadgen_executor_active{run_id="${runId}"}[5m])`);
    assert.deepEqual(phases.data!.result.map((s) => [s.metric.executor, s.value[1]]).sort(), [['chat', '1'], ['warmup', '1']]);
    // A scenario without faults pushes no fault series.
    assert.equal((await query(`wa_loadgen_fault_active{run_id="${runId}"}`)).data!.result.length, 0);
  });

  it('the load-run dashboard picks the run: its run_id variable lists it, its panels and phase annotations return its series', async () => {
    const d = JSON.parse(readFileSync(join(REPO_ROOT, 'dashboards', 'load-run.json'), 'utf8')) as {
      templating: { list: { name: string; query?: { query: string } }[] };
      annotations: { list: { name: string; expr?: string }[] };
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const v = d.templating.list.find((x) => x.name === 'run_id')!;
    const metric = /label_values\((\w+), run_id\)/.exec(v.query!.query)![1]!;
    const values = (await (await fetch(`${prom!.url}/api/v1/label/run_id/values?match[]=${metric}`)).json()) as { data: string[] };
    assert.ok(values.data.includes(runId), `the variable lists ${runId}: ${values.data.join(',')}`);
    const pick = (expr: string) => expr.replaceAll('$run_id', runId).replaceAll('$__rate_interval', '1m');
    // Only what remote write carries: the histogram is scraped from /metrics.
    const pushed = (expr: string) => /wa_loadgen_/.test(expr) && !/wa_(gateway|chat)_|_bucket/.test(expr);
    const exprs = d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).filter((e) => e.includes('$run_id') && pushed(e));
    assert.ok(exprs.some((e) => e.includes('wa_loadgen_target_rate')) && exprs.some((e) => e.includes('wa_loadgen_messages_scheduled_total')));
    assert.ok(exprs.length >= 10, `${exprs.length} panel queries`);
    for (const e of exprs) {
      const r = await query(pick(e));
      assert.equal(r.status, 'success', e);
      assert.ok(r.data!.result.length > 0, `no series for ${pick(e)}`);
    }
    const phases = d.annotations.list.find((a) => a.name === 'Executor phases')!;
    const a = await query(`max_over_time((${pick(phases.expr!)})[5m:1s])`);
    assert.deepEqual(a.data!.result.map((s) => s.metric.executor).sort(), ['chat', 'warmup']);
    const other = await query(pick(exprs[0]!).replaceAll(runId, 'some-other-run'));
    assert.ok(other.data!.result.length === 0 || Number(other.data!.result[0]!.value[1]) === 0, 'another run_id picks nothing');
  });

  it('dropped nothing, and said where it wrote', () => {
    assert.ok(!summary.loadgen.warnings.some((w) => w.includes('remote write')), summary.loadgen.warnings.join('\n'));
    assert.match(stderr, /remote write: \d+ samples in \d+ requests, 0 dropped/);
  });

  it('refuses a URL that is not http(s) with exit 104', async () => {
    const r = await runNode(CLI, ['run', 'smoke', '--remote-write', 'ftp://127.0.0.1/x'], { cwd: REPO_ROOT, timeoutMs: 30_000, name: 'bad url' });
    assert.equal(r.code, 104);
    assert.match(r.stderr, /--remote-write: http:\/\/ or https:\/\//);
  });
});

describe('remote write drops are counted, never silent', () => {
  const plan = { scenario: 'unit', executors: [{ name: 'chat', startMs: 0, durationMs: 5000 }], faults: [] } as unknown as RunPlan;
  const live = (): LiveStatus => {
    const agg = new MetricsAggregate();
    agg.counters.set('messages_sent', 5);
    return { elapsedMs: 1000, plan, agg, last: intervalRecord(0, 1000, []), intervalMs: 1000, executors: [] };
  };
  const summaryStub = () => ({ loadgen: { warnings: [] as string[] } }) as unknown as RunSummary;
  let server: Server;
  const bodies: Buffer[] = [];
  let mode: 'refuse' | 'hang' = 'refuse';

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        if (mode === 'refuse') res.writeHead(400).end('out of order sample');
        // 'hang': never answered (the output's timeout or the end of the run ends it).
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('a refused batch is dropped and counted with the status, and what was sent decodes to labelled series', async () => {
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`);
    const logs: string[] = [];
    const out = remoteWriteOutput(url, (l) => logs.push(l));
    out.start!({ plan, runId: 'unit-run-shard2of3', outDir: '/nonexistent', shard: { index: 1, count: 3 } });
    out.interval!(live());
    out.interval!(live());
    const s = summaryStub();
    await out.end!(s, '/nonexistent');
    assert.equal(out.stats.samples_sent, 0);
    assert.ok(out.stats.samples_dropped > 0);
    assert.deepEqual(Object.keys(out.stats.dropped_by_reason), ['refused with 400: out of order sample']);
    assert.match(s.loadgen.warnings.join('\n'), /remote write dropped \d+ of \d+ samples: \d+ refused with 400/);
    assert.ok(logs.some((l) => l.includes('dropping samples')));
    const series = decodeWriteRequest(snappyDecode(bodies[0]!));
    const sent = series.find((x) => x.labels.some((l) => l.name === '__name__' && l.value === 'wa_loadgen_messages_sent_total'))!;
    assert.deepEqual(Object.fromEntries(sent.labels.map((l) => [l.name, l.value])),
      { __name__: 'wa_loadgen_messages_sent_total', job: 'wa-loadgen', run_id: 'unit-run', scenario: 'unit', shard: '2/3' });
    assert.equal(sent.samples[0]!.value, 5);
    assert.equal(runIdLabel('x-shard12of40'), 'x');
  });

  it('a receiver that never answers fills the queue: the oldest batches are dropped and counted, the rest at the end', async () => {
    mode = 'hang';
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`);
    const limits = { ...REMOTE_WRITE_LIMITS, queue_batches_max: 4, flush_timeout_ms: 200, request_timeout_ms: 60_000 } as unknown as typeof REMOTE_WRITE_LIMITS;
    const out = remoteWriteOutput(url, () => {}, limits);
    out.start!({ plan, runId: 'unit-hang', outDir: '/nonexistent' });
    for (let i = 0; i < 10; i++) out.interval!(live());
    const s = summaryStub();
    await out.end!(s, '/nonexistent');
    const batch = out.stats.samples_dropped / 10;
    assert.ok(Number.isInteger(batch) && batch > 0, `all 10 batches dropped, equal sizes (${out.stats.samples_dropped})`);
    assert.deepEqual(out.stats.dropped_by_reason, { 'queue full': 6 * batch, 'not sent by the end of the run': 4 * batch });
    assert.equal(out.stats.samples_sent, 0);
    assert.match(s.loadgen.warnings[0]!, /queue full/);
  });
});
