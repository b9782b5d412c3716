// Faults declared in a scenario, run for real: `loadgen run` starts the
// single-process system with two gateways, kills gateway 0 (kill -9) at 2 s
// and starts it again 2 s later, freezes the chat service (SIGSTOP) at 5.5 s
// for 1 s. The summary lists both faults with their windows and the time
// until every probe chat was served again; the counts attributed to the
// faults add up to the run's; nothing acknowledged is lost; the chat service
// is not left frozen; report.html, opened in headless Chromium, draws both
// fault windows as labelled bands on every chart over time. Bad faults are
// refused before anything starts (exit 104).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode, type NodeRun } from './helpers/run-node';
import { launchChromium, toUrl, type Browser } from '../scripts/chromium';
import type { RunSummary } from '../loadgen/engine/summary';
import { failedSendCounters } from '../loadgen/engine/fault-report';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const FIXTURE = 'test/fixtures/loadgen/scenarios/faults.ts';
const RUN_TIMEOUT_MS = 90_000;
/** The line charts of report.html (test/report-html.test.ts names the same). */
const LINE_CHARTS = ['chart-latency', 'chart-rate', 'chart-connections', 'chart-errors', 'chart-cpu'];

function cli(args: string[], env: Record<string, string> = {}): Promise<NodeRun> {
  return runNode(CLI, args, { cwd: join(__dirname, '..', '..'), env: { ...process.env, ...env }, timeoutMs: RUN_TIMEOUT_MS, name: `loadgen ${args.join(' ')}` });
}

const count = (s: RunSummary, m: string) => s.metrics[m]?.values.count ?? 0;

describe('faults declared in a scenario, on the real single-process system', { timeout: 180_000 }, () => {
  let dir: string;
  let run: NodeRun;
  let s: RunSummary;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lg-faults-'));
    run = await cli(['run', FIXTURE, '--quiet', '--metrics-port', 'off', '--out', dir]);
    assert.ok(existsSync(join(dir, 'summary.json')), `no summary (exit ${run.code})\n${run.stderr}`);
    s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the summary lists both faults, each with its window, its steps and the time until service was back', () => {
    assert.ok(run.code === 0 || run.code === 99, `exit ${run.code}\n${run.stderr}`);
    const r = s.reports.faults;
    assert.ok(r, 'summary.json has reports.faults');
    assert.deepEqual(r.faults.map((f) => f.label), ['kill gateway[0] for 2s', 'pause chat[0] for 1s']);
    assert.equal(r.errors, 0, JSON.stringify(r.faults.map((f) => f.errors)));
    const [kill, pause] = r.faults;
    assert.deepEqual(kill!.steps.map((x) => x.what), ['kill', 'start']);
    assert.deepEqual(pause!.steps.map((x) => x.what), ['pause', 'resume']);
    for (const f of r.faults) {
      assert.ok(f.window, `${f.label} ran`);
      assert.ok(f.window.start_s >= f.planned.at_s && f.window.start_s < f.planned.at_s + 0.5, `${f.label} began on time: ${f.window.start_s}s`);
      assert.ok(f.restored_at_s !== null && f.restored_at_s >= f.planned.at_s + f.planned.for_s, `${f.label} back after its for: ${f.restored_at_s}`);
      assert.ok(f.window.end_s >= f.restored_at_s!);
      assert.ok(f.down_at_s !== null && f.down_at_s < f.restored_at_s!);
      // Served again: every probe chat had an ack for a send made after the disruption began.
      assert.equal(f.probe?.chats_served, f.probe?.chats, `${f.label}: every probe chat served again`);
      assert.ok(f.time_to_served_ms !== null && f.time_to_served_ms > 0 && f.time_to_served_ms < 10_000, `${f.label}: ${f.time_to_served_ms} ms`);
    }
    // Server side: the killed gateway stops answering /healthz, and answers again once restarted.
    assert.ok(kill!.readiness?.lost_at_s !== null && kill!.readiness!.lost_at_s! < kill!.restored_at_s!, JSON.stringify(kill!.readiness));
    assert.ok(kill!.readiness!.back_at_s !== null && kill!.readiness!.back_at_s >= kill!.restored_at_s! - 0.25, JSON.stringify(kill!.readiness));
    // A frozen chat service answers nobody until it is resumed: no probe chat can be served sooner.
    assert.ok(pause!.time_to_served_ms! >= 900, `served again ${pause!.time_to_served_ms} ms after a 1 s SIGSTOP`);
    // Half the probe chats sat on the killed gateway: they failed at least once before landing on the live one.
    assert.ok(kill!.probe!.attempts_failed > 0, 'probe attempts failed while gateway 0 was gone');
    console.log(`# served again: ${r.faults.map((f) => `${f.label} ${f.time_to_served_ms} ms`).join(', ')}; sends failed ` +
      `${r.faults.map((f) => f.sends_failed).join(', ')}; machine load ${s.machine.loadavg_1m_start?.toFixed(1)}`);
  });

  test('the counts attributed to the faults add up to the run\'s; nothing acknowledged was lost, duplicated or reordered', () => {
    const r = s.reports.faults!;
    const failedTotal = failedSendCounters().reduce((a, m) => a + count(s, m), 0);
    assert.equal(r.before_faults.sends_failed + r.faults.reduce((a, f) => a + f.sends_failed, 0), failedTotal, 'failed sends: spans + before = run');
    // Killing a gateway closes its users' connections: the sends they had in flight are never acknowledged.
    assert.ok(count(s, 'disconnects_unexpected') > 0, 'gateway 0 users were disconnected');
    assert.ok(r.faults[0]!.span.to_s <= r.faults[1]!.span.from_s, 'spans do not overlap');
    assert.equal(r.lost_run_total, count(s, 'delivery_lost'));
    assert.equal(count(s, 'delivery_lost'), 0, 'no acknowledged message lost');
    assert.equal(r.faults.reduce((a, f) => a + f.duplicates, 0) + r.before_faults.duplicates, count(s, 'delivery_duplicated'));
    assert.equal(count(s, 'delivery_duplicated'), 0);
    assert.equal(count(s, 'delivery_out_of_order'), 0);
  });

  test('the chat service is not left frozen: messages are delivered after the pause ended', () => {
    const resumedAt = s.reports.faults!.faults[1]!.restored_at_s!;
    const after = s.timeline.filter((t) => t.t_s > resumedAt + 1);
    assert.ok(after.length > 0);
    assert.ok(after.reduce((a, t) => a + (t.counters.messages_delivered ?? 0), 0) > 100, 'deliveries after the resume');
  });

  test('summary.txt has a FAULTS block', () => {
    const text = readFileSync(join(dir, 'summary.txt'), 'utf8');
    assert.match(text, /FAULTS \(served again: client side/);
    assert.match(text, /#0 kill gateway\[0\] for 2s: window [\d.]+s-[\d.]+s, served again after [\d.]+m?s \(16\/16 probe chats/);
    assert.match(text, /#1 pause chat\[0\] for 1s: window/);
    assert.match(text, /#0 kill gateway.*; not ready from [\d.]+s, ready again after /);
    assert.match(text, /acknowledged messages lost: 0 /);
  });

  test('report.html draws both fault windows as labelled bands on every chart over time (headless Chromium)', async () => {
    let browser: Browser | null = null;
    try {
      browser = await launchChromium({ width: 1400, height: 1000 });
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(toUrl(join(dir, 'report.html')), { waitUntil: 'load' });
      const charts = (await page.evaluate(`(() => [...document.querySelectorAll('figure.chart[data-chart]')].map((f) => ({
        id: f.id,
        bands: [...f.querySelectorAll('rect.band')].map((b) => ({ key: b.dataset.band, width: b.getBoundingClientRect().width,
          height: b.getBoundingClientRect().height, label: b.textContent })),
        labels: [...f.querySelectorAll('text.bandlabel')].map((t) => t.textContent),
      })))()`)) as { id: string; bands: { key: string; width: number; height: number; label: string }[]; labels: string[] }[];
      assert.deepEqual(errors, []);
      assert.deepEqual(charts.map((c) => c.id).sort(), [...LINE_CHARTS].sort());
      const faults = s.reports.faults!.faults;
      for (const c of charts) {
        assert.deepEqual(c.bands.map((b) => b.key), ['0', '1'], `${c.id}: one band per fault`);
        for (const b of c.bands) assert.ok(b.width > 2 && b.height > 50, `${c.id} band ${b.key} is visible (${b.width}x${b.height})`);
        assert.deepEqual(c.labels, faults.map((f) => `#${f.id} ${f.label}`));
      }
      // The 2 s kill window is drawn wider than the 1 s pause window.
      const latency = charts.find((c) => c.id === 'chart-latency')!;
      assert.ok(latency.bands[0]!.width > latency.bands[1]!.width, 'band widths follow the windows');
      assert.equal(await page.locator('tr.fault').count(), 2, 'the Faults table lists both');
    } finally {
      await browser?.close();
    }
  });
});

describe('a network fault on topology 1x2: a chat node cut off from etcd for 3 s (nftables)', { timeout: 180_000 }, () => {
  test('the cut node stops serving, the other takes its partitions, the gateways route everything again; nothing lost, no send failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lg-faults-isolate-'));
    try {
      const r = await cli(['run', FIXTURE, '--topology', '1x2', '--quiet', '--metrics-port', 'off', '--out', dir],
        { LG_FAULTS_BAD: JSON.stringify([{ at: '2s', target: 'chat', index: 1, action: 'isolate', for: '3s' }]) });
      assert.ok(r.code === 0 || r.code === 99, `exit ${r.code}\n${r.stderr.slice(-3000)}`);
      const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
      const f = s.reports.faults!;
      assert.equal(f.errors, 0, JSON.stringify(f.faults.map((x) => x.errors)));
      const x = f.faults[0]!;
      assert.equal(x.label, 'isolate chat[1] for 3s');
      assert.ok(x.down_at_s !== null && x.restored_at_s !== null, 'cut, then healed');
      assert.equal(s.reports.sends?.failed, 0, `no send failed: the cut node's partitions moved, clients resent (failed by reason: ` +
        `${JSON.stringify(s.reports.sends?.failed_by_reason)}; fault ${JSON.stringify(x)}; load average ${loadavg()[0]!.toFixed(1)})`);
      assert.equal(count(s, 'delivery_lost'), 0);
      assert.equal(count(s, 'delivery_duplicated'), 0);
      assert.equal(count(s, 'delivery_out_of_order'), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the same faults on the multi-node topology 2x1 (HAProxy, 2 gateways, a chat node, etcd, Redis)', { timeout: 180_000 }, () => {
  test('both faults run on the topology\'s processes; every probe chat is served again through HAProxy; nothing lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lg-faults-topo-'));
    try {
      const r = await cli(['run', FIXTURE, '--topology', '2x1', '--quiet', '--metrics-port', 'off', '--out', dir]);
      assert.ok(r.code === 0 || r.code === 99, `exit ${r.code}\n${r.stderr.slice(-3000)}`);
      assert.match(r.stderr, /setup: 2 fault\(s\) planned on topology 2x1/);
      const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
      assert.deepEqual(Object.keys(s.system ?? {}).sort(), ['chat-0', 'etcd-0', 'etcd-1', 'etcd-2', 'gateway-0', 'gateway-1', 'haproxy', 'redis']);
      const f = s.reports.faults!;
      assert.equal(f.errors, 0, JSON.stringify(f.faults.map((x) => x.errors)));
      for (const x of f.faults) {
        assert.ok(x.down_at_s !== null && x.restored_at_s !== null, `${x.label} took the process down and brought it back`);
        assert.equal(x.probe?.chats_served, x.probe?.chats, `${x.label}: every probe chat served again`);
      }
      assert.equal(count(s, 'delivery_lost'), 0);
      assert.equal(count(s, 'delivery_duplicated'), 0);
      assert.equal(count(s, 'delivery_out_of_order'), 0);
      console.log(`# topology 2x1: served again ${f.faults.map((x) => `${x.label} ${x.time_to_served_ms} ms`).join(', ')}; ` +
        `restored after ${f.faults.map((x) => `${((x.restored_at_s! - x.window!.start_s) * 1000).toFixed(0)} ms`).join(', ')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bad faults are refused before anything starts', { timeout: 60_000 }, () => {
  test('exit code 104 with the schema error; no summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lg-faults-bad-'));
    try {
      const cases: [unknown[], RegExp][] = [
        [[{ at: '1s', target: 'redis', action: 'kill' }], /faults\[0\]: redis\[0\] does not exist: the single-process system has no redis/],
        [[{ at: '1s', target: 'gateway', index: 2, action: 'kill' }], /gateway\[2\] does not exist: the single-process system has 2 gateway processes/],
        [[{ at: '30s', target: 'chat', action: 'kill' }], /faults\[0\]\.at \(30000 ms\) is beyond the run/],
        [[{ at: '1s', target: 'chat', action: 'kill', for: '2s' }, { at: '2s', target: 'chat', action: 'restart' }], /overlap on chat\[0\]/],
      ];
      for (const [faults, re] of cases) {
        const r = await cli(['run', FIXTURE, '--quiet', '--metrics-port', 'off', '--out', dir], { LG_FAULTS_BAD: JSON.stringify(faults) });
        assert.equal(r.code, 104, r.stderr);
        assert.match(r.stderr, /invalid configuration: .*faults\.ts: /);
        assert.match(r.stderr, re);
        assert.ok(!existsSync(join(dir, 'summary.json')));
      }
      const target = await cli(['run', FIXTURE, '--quiet', '--target', 'ws://127.0.0.1:9/v1/ws', '--secret', 'x', '--out', dir]);
      assert.equal(target.code, 104);
      assert.match(target.stderr, /faults act on the processes loadgen starts; drop --target/);
      // --topology replaces the scenario's 2x3: failover's chat[1] does not exist on one chat node.
      const topology = await cli(['run', 'scenarios/failover.ts', '--topology', '1x1', '--quiet', '--out', dir]);
      assert.equal(topology.code, 104);
      assert.match(topology.stderr, /faults\[0\]: chat\[1\] does not exist: topology 1x1 has 1 chat process \(index 0\.\.0\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
