// The loadgen command line as an SRE or a CI job uses it: exit code 0 when
// thresholds hold, 99 when one fails (with JUnit saying which), 99 and an
// early stop with abortOnFail, 104 for an invalid scenario; `list`; and a run
// split into two shards (two processes, one start time) merged into one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runNode, type NodeRun } from './helpers/run-node';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BARE_FORWARDER, startRelay, type RelayProcess } from './fixtures/loadgen/processes';
import type { RunSummary } from '../loadgen/engine/summary';
import { LatencyHistogram } from '../loadgen/metrics/latency';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const FIXTURE = 'test/fixtures/loadgen/scenarios/thresholds.ts';
const RUN_TIMEOUT_MS = 60_000;

type CliResult = NodeRun;

function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runNode(CLI, args, { cwd: join(__dirname, '..', '..'), env: { ...process.env, ...env }, timeoutMs: RUN_TIMEOUT_MS, name: `loadgen ${args.join(' ')}` });
}

function summaryOf(dir: string): RunSummary {
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
}

describe('loadgen CLI', () => {
  let relay: RelayProcess;
  let dir: string;
  const run = (out: string, env: Record<string, string>, extra: string[] = []) =>
    cli(['run', FIXTURE, '--driver', 'bare', '--target', relay.url, '--workers', '1', '--quiet', '--metrics-port', 'off', '--out', join(dir, out), ...extra], env);

  before(async () => {
    relay = await startRelay(BARE_FORWARDER);
    dir = mkdtempSync(join(tmpdir(), 'lg-cli-'));
  });
  after(async () => {
    await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('thresholds that hold: exit 0, a k6-like summary, summary.json and JUnit with one passing case per threshold', async () => {
    const r = await run('pass', { LG_THRESHOLD: 'p(99)<10000' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /✓ delivery_latency\.+: avg=/);
    assert.match(r.stdout, /THRESHOLDS: 3 passed, 0 failed/);
    const s = summaryOf(join(dir, 'pass'));
    assert.equal(s.exit_code, 0);
    assert.equal(s.metrics.messages_sent!.values.count, 600);
    assert.ok(s.phases.setup_ms > 0 && s.phases.measured_ms >= 2900 && s.phases.measured_ms < 4500, JSON.stringify(s.phases));
    const junit = readFileSync(join(dir, 'pass', 'junit.xml'), 'utf8');
    assert.match(junit, /<testsuite name="loadgen.thresholds-fixture" tests="3" failures="0"/);
    assert.equal((junit.match(/<testcase /g) ?? []).length, 3);
    assert.ok(existsSync(join(dir, 'pass', 'summary.txt')));
  });

  test('a failed threshold: exit code 99 and a JUnit failure naming it', async () => {
    const r = await run('fail', { LG_THRESHOLD: 'p(99)<0.001' });
    assert.equal(r.code, 99, r.stderr);
    assert.match(r.stdout, /✗ delivery_latency 'p\(99\)<0.001' \(was /);
    const junit = readFileSync(join(dir, 'fail', 'junit.xml'), 'utf8');
    assert.match(junit, /tests="3" failures="1"/);
    assert.match(junit, /<testcase classname="loadgen.thresholds-fixture" name="delivery_latency p\(99\)&lt;0.001"[^>]*>\s*<failure/);
    assert.equal(summaryOf(join(dir, 'fail')).thresholds.ok, false);
  });

  test('abortOnFail stops the run soon after delayAbortEval, exit code 99', async () => {
    const r = await run('abort', { LG_THRESHOLD: 'p(99)<0.001', LG_ABORT: '1', LG_SECONDS: '30' });
    assert.equal(r.code, 99, r.stderr);
    const s = summaryOf(join(dir, 'abort'));
    assert.ok(s.aborted, 'the summary says it was aborted');
    assert.match(s.aborted.reason, /threshold delivery_latency 'p\(99\)<0.001' failed .* abortOnFail/);
    assert.ok(s.aborted.at_s >= 1 && s.aborted.at_s <= 4, `aborted at ${s.aborted.at_s}s (delayAbortEval 1s)`);
    assert.ok(s.phases.measured_ms < 8000, `a 30 s scenario stopped early: ${s.phases.measured_ms} ms`);
    assert.match(readFileSync(join(dir, 'abort', 'junit.xml'), 'utf8'), /name="run completed"[^>]*>\s*<failure message="aborted: threshold/);
  });

  test('an invalid scenario is refused before anything starts: exit code 104', async () => {
    const r = await run('bad', { LG_BAD_METRIC: '1' });
    assert.equal(r.code, 104);
    assert.match(r.stderr, /invalid configuration: .*no metric named "delivery_latencyy"/);
    assert.ok(!existsSync(join(dir, 'bad', 'summary.json')));
    const missing = await cli(['run', 'scenarios/nope.ts']);
    assert.equal(missing.code, 104);
    assert.match(missing.stderr, /no compiled scenario/);
  });

  test('SIGTERM mid-run: a graceful stop, a partial summary marked aborted whose counts add up, --summary-export, exit 105', async () => {
    const out = join(dir, 'sigterm');
    const exported = join(dir, 'export', 'k6-summary.json');
    const child = spawn(process.execPath, [CLI, 'run', FIXTURE, '--driver', 'bare', '--target', relay.url, '--workers', '1', '--quiet',
      '--metrics-port', 'off', '--out', out, '--summary-export', exported], { cwd: join(__dirname, '..', '..'), env: { ...process.env, LG_SECONDS: '30' } });
    let stderr = '';
    child.stdout.resume();
    const code = await new Promise<number>((resolve, reject) => {
      const bound = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`no exit after SIGTERM\n${stderr}`))), RUN_TIMEOUT_MS);
      let signalled = false;
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
        // The measured window starts ~250 ms after setup; stop it about 1.5 s in.
        if (!signalled && /setup: \d+ connections/.test(stderr)) {
          signalled = true;
          setTimeout(() => child.kill('SIGTERM'), 1750);
        }
      });
      child.on('exit', (c) => (clearTimeout(bound), resolve(c ?? -1)));
    });
    assert.equal(code, 105, stderr);
    assert.match(stderr, /SIGTERM: stopping gracefully/);
    const s = summaryOf(out);
    assert.ok(s.aborted, 'the summary says it was aborted');
    assert.equal(s.aborted.reason, 'interrupted (SIGTERM)');
    assert.ok(s.aborted.at_s > 0.5 && s.aborted.at_s < 6, `aborted at ${s.aborted.at_s}s`);
    assert.ok(s.phases.measured_ms < 8000, `a 30 s scenario stopped early: ${s.phases.measured_ms} ms`);
    assert.equal(s.exit_code, 105);
    // Every iteration the schedule started is accounted for: each message sent was delivered or counted lost.
    const count = (m: string) => s.metrics[m]?.values.count ?? 0;
    const sent = count('messages_sent');
    assert.ok(sent >= 100 && sent < 1500, `about 1.5 s of 200/s were sent: ${sent}`);
    assert.equal(count('iterations'), sent, 'one message per iteration');
    assert.equal(count('messages_delivered') + count('delivery_lost'), sent, 'delivered + lost = sent');
    if (s.reports.sends) assert.ok(s.reports.sends.adds_up, JSON.stringify(s.reports.sends));
    assert.match(readFileSync(join(out, 'summary.txt'), 'utf8'), /ABORTED at \d+\.\ds: interrupted \(SIGTERM\)/);
    assert.match(readFileSync(join(out, 'junit.xml'), 'utf8'), /<failure message="aborted: interrupted \(SIGTERM\)"/);
    assert.equal(readFileSync(exported, 'utf8'), readFileSync(join(out, 'summary.json'), 'utf8'), '--summary-export holds the summary');
  });

  test('list shows the shipped scenarios, executors and metrics', async () => {
    const r = await cli(['list']);
    assert.equal(r.code, 0);
    for (const name of ['smoke', 'fanout', 'reconnect-flood', 'breakpoint']) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'));
    assert.match(r.stdout, /constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus, per-vu-iterations/);
    assert.match(r.stdout, /delivery_latency +trend/);
  });

  test('two shards started together merge into one run: counts add up, percentiles come from the merged histograms', async () => {
    const startAt = String(Date.now() + 4000);
    const [a, b] = await Promise.all([
      run('shard1', {}, ['--shard', '1/2', '--start-at', startAt]),
      run('shard2', {}, ['--shard', '2/2', '--start-at', startAt]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const s1 = summaryOf(join(dir, 'shard1'));
    const s2 = summaryOf(join(dir, 'shard2'));
    assert.equal(s1.metrics.messages_sent!.values.count! + s2.metrics.messages_sent!.values.count!, 600, 'the shards split the schedule');
    assert.ok(Math.abs(s1.metrics.messages_sent!.values.count! - 300) <= 1);
    const m = await cli(['merge', join(dir, 'shard1'), join(dir, 'shard2'), '--out', join(dir, 'merged'), '--quiet']);
    assert.equal(m.code, 0, m.stderr);
    const merged = summaryOf(join(dir, 'merged'));
    assert.deepEqual(merged.shards.map((x) => `${x.index}/${x.count}`).sort(), ['0/2', '1/2']);
    assert.equal(merged.metrics.messages_sent!.values.count, 600);
    assert.equal(merged.metrics.messages_delivered!.values.count, 600);
    const union = LatencyHistogram.decode(s1.metrics.delivery_latency!.histogram!);
    union.add(LatencyHistogram.decode(s2.metrics.delivery_latency!.histogram!));
    for (const p of [50, 90, 95, 99, 99.9] as const) {
      assert.equal(merged.metrics.delivery_latency!.values[`p(${p})`], Math.round(union.percentileMs(p) * 1000) / 1000, `p(${p})`);
    }
    assert.equal(merged.thresholds.results.length, 3);
    assert.ok(merged.timeline.length >= 3);
    const secondOne = merged.timeline.find((r) => r.index === 1)!;
    assert.ok(Math.abs((secondOne.counters.messages_sent ?? 0) - 200) <= 2, 'the merged timeline sums the shards per second');
    // Merging a shard twice would double-count its samples: refused.
    const twice = await cli(['merge', join(dir, 'shard1'), join(dir, 'shard1'), '--out', join(dir, 'twice'), '--quiet']);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /appears twice/);
  });
});
