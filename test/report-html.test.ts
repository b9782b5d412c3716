// The per-run HTML report, rendered by a real browser: a short real run of
// the smoke scenario (the load generator starts the system), then its
// results/<run-id>/report.html opens in headless Chromium (Debian's, through
// playwright-core) with every request that is not the file itself refused.
// The page must render without console errors, draw every chart with as
// many points as the timeline has intervals, and show the same thresholds
// and integrity counts as summary.json. `loadgen merge` writes one too.
// A screenshot is kept next to the report (results/<run-id>/report.png).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runNode, type NodeRun } from './helpers/run-node';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from '../server/common/paths';
import { launchChromium, toUrl, type Browser } from '../scripts/chromium';
import type { RunSummary } from '../loadgen/engine/summary';
import { renderReportHtml, REPORT_HTML } from '../loadgen/outputs/report-html';

const CLI = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
const RUN_TIMEOUT_MS = 90_000;
const LINE_CHARTS = ['chart-latency', 'chart-rate', 'chart-connections', 'chart-errors', 'chart-cpu'];

function loadgen(args: string[]): Promise<NodeRun> {
  return runNode(CLI, args, { cwd: REPO_ROOT, timeoutMs: RUN_TIMEOUT_MS, name: `loadgen ${args.join(' ')}` });
}

interface Opened {
  page: Page;
  consoleErrors: string[];
  pageErrors: string[];
  /** Requests for anything but the report file itself (refused). */
  foreign: string[];
  dialogs: string[];
}

async function open(browser: Browser, file: string): Promise<Opened> {
  const o: Opened = { page: await browser.context.newPage(), consoleErrors: [], pageErrors: [], foreign: [], dialogs: [] };
  const url = toUrl(file);
  await o.page.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    o.foreign.push(route.request().url());
    return route.abort();
  });
  o.page.on('console', (m) => {
    if (m.type() === 'error') o.consoleErrors.push(m.text());
  });
  o.page.on('pageerror', (e) => o.pageErrors.push(e.message));
  o.page.on('dialog', (d) => {
    o.dialogs.push(d.message());
    void d.dismiss();
  });
  await o.page.goto(url, { waitUntil: 'load' });
  return o;
}

/** Evaluated in the page (a string: this project compiles without the DOM types). */
const CHART_FACTS = `(() => [...document.querySelectorAll('figure.chart')].map((f) => {
  const svg = f.querySelector('svg');
  const box = svg.getBoundingClientRect();
  return {
    id: f.id, width: box.width, height: box.height,
    series: [...f.querySelectorAll('path.series')].map((p) => ({
      name: p.dataset.series, points: Number(p.dataset.points),
      coords: (p.getAttribute('d').match(/[ML]/g) || []).length, length: p.getTotalLength(),
    })),
    bars: [...f.querySelectorAll('rect.bar')].map((r) => ({ label: r.dataset.bar, value: Number(r.dataset.value), width: Number(r.getAttribute('width')) })),
  };
}))()`;

interface ChartFacts {
  id: string;
  width: number;
  height: number;
  series: { name: string; points: number; coords: number; length: number }[];
  bars: { label: string; value: number; width: number }[];
}

describe('the HTML run report in headless Chromium', { timeout: 180_000 }, () => {
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '')}-report-html-test`;
  const dir = join(REPO_ROOT, 'results', runId);
  const mergedDir = join(dir, 'merged');
  let summary: RunSummary;
  let browser: Browser;
  let report: Opened;
  let charts: ChartFacts[];

  before(async () => {
    mkdirSync(dir, { recursive: true });
    const r = await loadgen(['run', 'smoke', '--duration', '3s', '--quiet', '--metrics-port', 'off', '--out', dir, '--run-id', runId]);
    assert.ok(r.code === 0 || r.code === 99, `loadgen run exited ${r.code}\n${r.stderr}`);
    summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunSummary;
    browser = await launchChromium({ width: 1400, height: 1000 });
    report = await open(browser, join(dir, REPORT_HTML));
    charts = (await report.page.evaluate(CHART_FACTS)) as ChartFacts[];
  });

  after(async () => {
    await browser?.close();
  });

  it('is written by every `loadgen run`, self-contained (no external reference)', () => {
    const html = readFileSync(join(dir, REPORT_HTML), 'utf8');
    assert.doesNotMatch(html, /<(link|img|iframe)\b|\bsrc=|https?:\/\/(?!127\.0\.0\.1)/i, 'nothing to fetch');
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  });

  it('renders without console errors, page errors or requests', () => {
    assert.deepEqual(report.pageErrors, []);
    assert.deepEqual(report.consoleErrors, []);
    assert.deepEqual(report.foreign, []);
  });

  it('draws every chart, each series with one point per interval that has data', () => {
    const byId = new Map(charts.map((c) => [c.id, c]));
    const intervals = summary.timeline.length;
    assert.ok(intervals >= 3, `timeline has ${intervals} intervals`);
    for (const id of LINE_CHARTS) {
      const c = byId.get(id);
      assert.ok(c, `${id} is on the page`);
      assert.ok(c.width > 300 && c.height > 100, `${id} is laid out (${c.width}x${c.height})`);
      assert.ok(c.series.length >= 2, `${id}: ${c.series.length} series`);
      for (const s of c.series) {
        assert.ok(s.points > 0, `${id} ${s.name}: no points`);
        assert.equal(s.coords, s.points, `${id} ${s.name}: path coordinates`);
        if (s.points > 1) assert.ok(s.length > 0, `${id} ${s.name}: a visible line`);
      }
    }
    const withLatency = summary.timeline.filter((r) => (r.trends.delivery_latency?.count ?? 0) > 0).length;
    const latency = byId.get('chart-latency')!.series;
    assert.deepEqual(latency.map((s) => s.name), ['p50', 'p95', 'p99']);
    for (const s of latency) assert.equal(s.points, withLatency, `latency ${s.name}: one point per interval with deliveries`);
    const rate = byId.get('chart-rate')!.series;
    assert.deepEqual(rate.map((s) => s.name), ['scheduled', 'sent', 'delivered']);
    for (const s of rate) assert.equal(s.points, intervals, `rate ${s.name}`);
    assert.ok(byId.get('chart-connections')!.series.some((s) => s.name === 'connections' && s.points === intervals));
  });

  it('shows the integrity counts of summary.json, as bars and as numbers', async () => {
    const bars = charts.find((c) => c.id === 'chart-integrity')!.bars;
    const count = (m: string) => summary.metrics[m]?.values.count ?? 0;
    const expected = [['sent', 'messages_sent'], ['delivered', 'messages_delivered'], ['lost', 'delivery_lost'],
      ['duplicated', 'delivery_duplicated'], ['out of order', 'delivery_out_of_order']] as const;
    assert.ok(count('messages_sent') > 1000, `a real run sent ${count('messages_sent')}`);
    for (const [label, metric] of expected) {
      const bar = bars.find((b) => b.label === label);
      assert.ok(bar, `bar ${label}`);
      assert.equal(bar.value, count(metric), `bar ${label}`);
      assert.equal(bar.width > 0, count(metric) > 0, `bar ${label} drawn iff non-zero`);
      const cell = await report.page.locator(`tr[data-integrity="${metric}"] td`).last().textContent();
      assert.equal(cell, String(count(metric)), `table ${metric}`);
    }
  });

  it('lists the thresholds of summary.json with their verdicts', async () => {
    const rows = report.page.locator('tr.threshold');
    assert.equal(await rows.count(), summary.thresholds.results.length);
    assert.ok(summary.thresholds.results.length >= 5);
    for (let i = 0; i < summary.thresholds.results.length; i++) {
      const r = summary.thresholds.results[i]!;
      const row = rows.nth(i);
      assert.equal(await row.getAttribute('data-metric'), r.metric);
      assert.equal(await row.getAttribute('data-ok'), String(r.ok));
      const cells = await row.locator('td').allTextContents();
      assert.deepEqual(cells.slice(0, 2), [r.metric, r.source]);
      assert.match(cells[3]!, r.ok ? /pass/ : /fail/);
    }
    const badge = await report.page.locator('#verdict').textContent();
    assert.match(badge!, summary.thresholds.ok ? /PASSED/ : /FAILED/);
  });

  it('states what was run: scenario, traffic, executors, scale, production figures, command, machine', async () => {
    const text = (await report.page.locator('main').textContent())!;
    for (const e of summary.plan.executors) assert.ok(text.includes(e.name) && text.includes(e.executor), `executor ${e.name}`);
    for (const needle of [summary.scenario.scale.basis, summary.scenario.production.notes, summary.command, summary.machine.cpu_model, 'contactsPerUser']) {
      assert.ok(text.includes(needle), `shows ${needle}`);
    }
  });

  it('shows the values of the hovered interval (its script runs)', async () => {
    const svg = report.page.locator('#chart-latency svg');
    const box = (await svg.boundingBox())!;
    await report.page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    const tip = report.page.locator('#chart-latency .tip');
    await tip.waitFor({ state: 'visible', timeout: 5000 });
    assert.match((await tip.textContent())!, /^t=[\d.]+s .*p50 .*p95 .*p99 /);
    await report.page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
    assert.ok(existsSync(join(dir, 'report.png')));
  });

  it('escapes what it interpolates: markup in a scenario or command stays text', async () => {
    const evil = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>';
    const s = structuredClone(summary);
    s.scenario.description = evil;
    s.command = `loadgen run "${evil}"`;
    s.plan.executors[0]!.name = evil;
    const file = join(dir, 'escaped.html');
    writeFileSync(file, renderReportHtml(s));
    const o = await open(browser, file);
    assert.deepEqual(o.dialogs, []);
    assert.deepEqual(o.foreign, []);
    assert.deepEqual(o.pageErrors, []);
    assert.equal(await o.page.locator('main img').count(), 0);
    assert.ok((await o.page.locator('main').textContent())!.includes(evil), 'shown literally');
    await o.page.close();
    rmSync(file);
  });

  it('`loadgen merge` writes a report of the merged run', async () => {
    const r = await loadgen(['merge', dir, '--out', mergedDir, '--quiet']);
    assert.ok(r.code === 0 || r.code === 99, `merge exited ${r.code}\n${r.stderr}`);
    const o = await open(browser, join(mergedDir, REPORT_HTML));
    assert.deepEqual([...o.pageErrors, ...o.consoleErrors, ...o.foreign], []);
    assert.equal(await o.page.locator('tr.threshold').count(), summary.thresholds.results.length);
    assert.equal(await o.page.locator('#chart-latency path.series').count(), 3);
    await o.page.close();
  });
});
