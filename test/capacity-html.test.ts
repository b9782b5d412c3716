// capacity.html in headless Chromium: `make capacity` on the reference runs
// (the curated ramp and probe in results/reference, plus the fixtures of the
// coordination, process-scaling and store benches) writes it beside capacity.md; the page must render with no
// console errors and no request but itself, draw the USL, tornado, fleet and
// cost charts from the same numbers as capacity.json, and carry every section.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from '../server/common/paths';
import { launchChromium, toUrl, type Browser } from '../scripts/chromium';
import { runNode } from './helpers/run-node';

const CLI = join(REPO_ROOT, 'dist', 'tools', 'capacity-model', 'cli.js');
const REF = join(REPO_ROOT, 'results', 'reference');

const FACTS = `(() => ({
  sections: [...document.querySelectorAll('h2')].map((h) => h.textContent),
  charts: Object.fromEntries([...document.querySelectorAll('figure.chart')].map((f) => {
    const box = f.querySelector('svg').getBoundingClientRect();
    return [f.id, { width: box.width, height: box.height, bars: [...f.querySelectorAll('rect.bar')].map((r) => ({ label: r.dataset.bar, value: Number(r.dataset.value) })),
      paths: f.querySelectorAll('path').length, circles: f.querySelectorAll('circle').length }];
  })),
}))()`;

interface Facts {
  sections: string[];
  charts: Record<string, { width: number; height: number; bars: { label: string; value: number }[]; paths: number; circles: number }>;
}

describe('capacity.html in headless Chromium', { timeout: 120_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'capacity-html-'));
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const foreign: string[] = [];
  let facts: Facts;
  let json: { usl: { points: unknown[] }; fleet: { tiers: { tier: string; nodes: number }[] }; sensitivity: { rows: { name: string; nodes_at_low: number; nodes_at_high: number }[] }; cost: { tiers: { tier: string; usd_per_month: number }[] } };

  before(async () => {
    const r = await runNode(CLI, [
      '--results', join(REF, '2026-11-28T01-57-21-capacity-ramp'), '--results', join(REF, '2026-11-28T01-57-21-capacity-probe'),
      ...['bench-coordination.json', 'bench-process-scaling.json', 'bench-scylla-store.json'].flatMap((f) => ['--results', join(REPO_ROOT, 'test', 'fixtures', 'capacity', f)]),
      '--profile', 'c32', '--out', out,
    ], { cwd: REPO_ROOT, timeoutMs: 60_000, name: 'capacity cli' });
    assert.equal(r.code, 0, r.stderr);
    json = JSON.parse(readFileSync(join(out, 'capacity.json'), 'utf8'));
    browser = await launchChromium({ width: 1400, height: 1000 });
    page = await browser.context.newPage();
    const url = toUrl(join(out, 'capacity.html'));
    await page.route('**/*', (route) => {
      if (route.request().url() === url) return route.continue();
      foreign.push(route.request().url());
      return route.abort();
    });
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url, { waitUntil: 'load' });
    facts = (await page.evaluate(FACTS)) as Facts;
    await page.screenshot({ path: join(out, 'capacity.png'), fullPage: true });
  });

  after(async () => {
    await browser?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('is self-contained and renders without errors or requests', () => {
    const html = readFileSync(join(out, 'capacity.html'), 'utf8');
    assert.doesNotMatch(html, /<(link|img|iframe|script)\b|\bsrc=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.deepEqual(errors, []);
    assert.deepEqual(foreign, []);
  });

  it('carries every section, the architect\'s ones included', () => {
    for (const t of ['Projected fleet', 'Universal Scalability Law', 'Hardware profiles', 'Sensitivity', 'Cost', 'Reconciliation with published fleets', 'Model parameters']) {
      assert.ok(facts.sections.includes(t), `${t} in ${facts.sections.join(' | ')}`);
    }
  });

  it('draws the five charts, visible, from the numbers in capacity.json', () => {
    for (const id of ['chart-usl', 'chart-cores', 'chart-tornado', 'chart-fleet', 'chart-cost']) {
      const c = facts.charts[id];
      assert.ok(c && c.width > 300 && c.height > 100, `${id} drawn: ${JSON.stringify(c)}`);
    }
    assert.ok(facts.charts['chart-usl']!.paths >= 1, 'the fitted curve');
    assert.equal(facts.charts['chart-cores']!.paths, 2, 'the ideal and the USL over cores');
    assert.equal(facts.charts['chart-cores']!.circles, 2, 'a dot per profile sized by the USL (c32, c64)');
    assert.ok(json.usl.points.length >= 4 && facts.charts['chart-usl']!.circles >= json.usl.points.length, 'a dot per measured point');
    assert.deepEqual(facts.charts['chart-fleet']!.bars, json.fleet.tiers.map((t) => ({ label: t.tier, value: t.nodes })));
    assert.deepEqual(facts.charts['chart-cost']!.bars, json.cost.tiers.map((t) => ({ label: t.tier, value: t.usd_per_month })));
    const tornado = facts.charts['chart-tornado']!.bars;
    const rows = json.sensitivity.rows.slice(0, tornado.length / 2);
    assert.deepEqual(tornado, rows.flatMap((r) => [{ label: `${r.name}:low`, value: r.nodes_at_low }, { label: `${r.name}:high`, value: r.nodes_at_high }]),
      'the tornado in the order of the JSON, largest swing first');
  });
});
