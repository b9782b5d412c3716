// compare.html: two runs on one self-contained page (the run report's CSS,
// inline SVG, no fetch): each latency trend's distribution of A and B
// overlaid as HDR percentile spectra (x in "nines": 1 = p90, 2 = p99,
// 3 = p99.9, so the tail gets as much room as the body), both timelines
// overlaid, then the side-by-side tables of `loadgen compare`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trendHistogram, type Comparison, type SideBySide } from '../engine/compare';
import type { RunSummary } from '../engine/summary';
import { REPORT_CSS, REPORT_JS } from './report-html';
import { latencySeries, rateSeries } from './report-series';
import { esc, renderLineChart } from './svg-chart';

export const COMPARE_HTML = 'compare.html';
/** The spectrum's x: 0 (p0) to 3 nines (p99.9) in steps of 0.05 nines: 61 points per run. */
const NINES_MAX = 3;
const NINES_STEP = 0.05;
const COLOR_A = '#1f77b4';
const COLOR_B = '#d62728';

/** x values of the percentile spectrum, in nines. */
export function spectrumNines(): number[] {
  const out: number[] = [];
  for (let i = 0; i <= Math.round(NINES_MAX / NINES_STEP); i++) out.push(+(i * NINES_STEP).toFixed(2));
  return out;
}

/** The percentile at `nines` (1 -> 90, 2 -> 99). */
export function percentileAtNines(nines: number): number {
  return 100 * (1 - 10 ** -nines);
}

function spectrum(s: RunSummary, metric: string): (number | null)[] {
  const h = trendHistogram(s, metric);
  return spectrumNines().map((n) => (h && h.count > 0 ? h.percentileMs(percentileAtNines(n)) : null));
}

function distributionCharts(a: RunSummary, b: RunSummary, c: Comparison): string {
  const x = spectrumNines();
  return c.trends.filter((t) => (t.count.a ?? 0) > 0 || (t.count.b ?? 0) > 0).map((t, i) =>
    `<div class="dist" data-metric="${esc(t.metric)}">` + renderLineChart({
      id: `dist-${i}`, title: `${t.metric}: distribution`, unit: 'ms', x,
      caption: `latency at each percentile, from the stored HDR histograms (A: ${t.count.a ?? 0} samples, B: ${t.count.b ?? 0})`,
      xLabel: 'percentile, in nines (0 = p0, 1 = p90, 2 = p99, 3 = p99.9)',
      series: [{ name: 'A', values: spectrum(a, t.metric), color: COLOR_A }, { name: 'B', values: spectrum(b, t.metric), color: COLOR_B }],
      vlines: [{ x: 1, label: 'p90' }, { x: 2, label: 'p99' }],
    }) + '</div>').join('\n');
}

/** Two timelines on one x: the longer one's intervals; the shorter one's values end where it ends. */
function overTime(a: RunSummary, b: RunSummary): string {
  const x = (a.timeline.length >= b.timeline.length ? a : b).timeline.map((r) => r.t_s);
  const pad = (v: (number | null)[]) => x.map((_, i) => v[i] ?? null);
  const p99 = [latencySeries(a, 'delivery_latency').values.p99!, latencySeries(b, 'delivery_latency').values.p99!];
  const sent = [rateSeries(a).values.sent!, rateSeries(b).values.sent!];
  const two = (v: (number | null)[][]) => [{ name: 'A', values: pad(v[0]!), color: COLOR_A }, { name: 'B', values: pad(v[1]!), color: COLOR_B }];
  return renderLineChart({ id: 'time-p99', title: 'Delivery latency p99 per interval', caption: 'each run\'s interval p99 (no coordinated omission)',
    unit: 'ms', x, xLabel: 'seconds into the measured window', series: two(p99) }) +
    renderLineChart({ id: 'time-sent', title: 'Messages sent per second', caption: 'each run\'s achieved send rate per interval',
      unit: 'per_s', x, xLabel: 'seconds into the measured window', series: two(sent) });
}

const num = (x: number | null) => (x === null ? '–' : String(+x.toFixed(3)));

function row(name: string, s: SideBySide, cls = ''): string {
  return `<tr class="cmp${cls}" data-metric="${esc(name)}" data-a="${esc(s.a ?? '')}" data-b="${esc(s.b ?? '')}">` +
    `<td>${esc(name)}</td><td>${esc(num(s.a))}</td><td>${esc(num(s.b))}</td><td>${esc(s.ratio === null ? '' : `x${s.ratio.toFixed(3)}`)}</td></tr>`;
}

function metricsTable(c: Comparison): string {
  const rows: string[] = [];
  for (const t of c.trends) {
    rows.push(row(`${t.metric} count`, t.count), row(`${t.metric} avg ms`, t.mean_ms));
    for (const [p, s] of Object.entries(t.percentiles_ms)) rows.push(row(`${t.metric} p(${p}) ms`, s));
    rows.push(row(`${t.metric} max ms`, t.max_ms));
  }
  for (const r of c.rates) rows.push(row(`${r.metric} rate`, r.rate));
  for (const k of c.counters) rows.push(row(`${k.metric} count`, k.count), row(`${k.metric} /s`, k.per_s));
  return `<table id="metrics"><thead><tr><th>metric</th><th>A</th><th>B</th><th>B/A</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function integrityTable(c: Comparison): string {
  const rows = c.integrity.map((i) => row(i.metric, i.count, i.must_be_zero && ((i.count.a ?? 0) > 0 || (i.count.b ?? 0) > 0) ? ' fail' : ''));
  const cpu = c.cpu_per_message_us;
  const cpuRows = [row('load generator µs/msg', cpu.loadgen), row('system µs/msg', cpu.system),
    ...Object.entries(cpu.by_process).map(([p, s]) => row(`${p} µs/msg`, s))];
  const head = (t: string) => `<thead><tr><th>${esc(t)}</th><th>A</th><th>B</th><th>B/A</th></tr></thead>`;
  return `<div class="row"><table id="integrity">${head('integrity')}<tbody>${rows.join('')}</tbody></table>` +
    `<table id="cpu">${head('CPU per message sent')}<tbody>${cpuRows.join('')}</tbody></table></div>`;
}

function statsTable(c: Comparison): string {
  const rows = c.statistics.map((s) => {
    const j = s.judgement;
    const cells = j
      ? [s.metric, `${s.samples.a}/${s.samples.b}`, `${num(j.baselineMedian)} ${s.unit}`, `${num(j.currentMedian)} ${s.unit}`, j.ratio.toFixed(3),
        j.higherIsWorse ? `<= ${(1 + j.bound).toFixed(3)}` : `>= ${(1 - j.bound).toFixed(3)}`, j.p.toFixed(3), j.pass ? 'same or better' : 'worse']
      : [s.metric, `${s.samples.a}/${s.samples.b}`, '', '', '', '', '', 'too few samples'];
    const attrs = `class="stat ${j ? (j.pass ? 'pass' : 'fail') : ''}" data-metric="${esc(s.metric)}" data-pass="${j ? j.pass : ''}"`;
    return `<tr ${attrs}>${cells.map((x) => `<td>${esc(x)}</td>`).join('')}</tr>`;
  });
  return `<table id="stats"><thead><tr>${['per-interval samples', 'n A/B', 'median A', 'median B', 'ratio', 'bound', 'p', 'B vs A']
    .map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderCompareHtml(a: RunSummary, b: RunSummary, c: Comparison): string {
  const ref = (k: 'A' | 'B', r: Comparison['a']) =>
    `<div><b style="color:${k === 'A' ? COLOR_A : COLOR_B}">${k}</b> <code>${esc(r.run_id)}</code> ${esc(r.scenario)}, ${esc(r.measured_s)}s measured, started ${esc(r.started_at)} — <code>${esc(r.command)}</code></div>`;
  const verdict = c.regressed.length ? `B WORSE: ${c.regressed.join(', ')}` : 'B NOT WORSE';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`compare ${c.a.run_id} vs ${c.b.run_id}`)}</title><style>${REPORT_CSS}</style></head>
<body><main>
<h1>loadgen compare <span class="badge ${c.regressed.length ? 'fail' : 'pass'}" id="verdict">${esc(verdict)}</span></h1>
${ref('A', c.a)}${ref('B', c.b)}
<h2>Latency distributions</h2>
<div class="grid2">${distributionCharts(a, b, c)}</div>
<h2>Over time</h2>
<div class="grid2">${overTime(a, b)}</div>
<h2>The perf gate's rule on per-interval samples</h2>
<p class="muted">B judged against A by lib/regression-stats.ts: worse only when the median moved past the bound AND a one-sided Mann–Whitney test says so (p &lt;= alpha). Intervals of one run are not independent samples: read it as a guide.</p>
${statsTable(c)}
<h2>Integrity and CPU</h2>
${integrityTable(c)}
<h2>Every metric</h2>
<p class="muted">Trend percentiles recomputed from each run's stored HDR histogram; counters per second of the measured window.</p>
${metricsTable(c)}
</main>
<script>${REPORT_JS}</script>
</body></html>
`;
}

export function writeCompareHtml(a: RunSummary, b: RunSummary, c: Comparison, outDir: string): string {
  const file = join(outDir, COMPARE_HTML);
  writeFileSync(file, renderCompareHtml(a, b, c));
  return file;
}
