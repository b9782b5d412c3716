// report.html: one self-contained page per run (inline CSS, inline SVG, a few
// lines of inline JS for hover values; a Content-Security-Policy that forbids
// every fetch), so it opens from results/<run-id>/ or a CI artifact with no
// network. It shows the verdict, latency percentiles, scheduled vs achieved
// rate, connections, errors and CPU over time, integrity counts, thresholds,
// every metric, and what was run (scenario, traffic model, executors, scale,
// production figures, command, machine). Everything interpolated is escaped.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Output } from '../engine/output';
import type { RunSummary } from '../engine/summary';
import { splitMetricName } from '../model/metric-catalog';
import { formatDurationMs } from '../model/duration';
import { describeExecutor, fmtCount, fmtMs } from './summary-text';
import { esc, renderBarChart, renderLineChart, type Band, type LineChart } from './svg-chart';
import { connectionSeries, cpuSeries, errorSeries, integrityCounts, latencySeries, mediaBandwidthSeries, rateSeries, type IntervalSeries } from './report-series';

export const REPORT_HTML = 'report.html';

const COLORS = ['#1f77b4', '#ff7f0e', '#d62728', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const X_LABEL = 'seconds into the measured window';

/** Series drawn as references rather than measurements. */
const REFERENCE_SERIES: Record<string, { color: string; dashed: boolean }> = { scheduled: { color: '#667085', dashed: true } };

function chart(id: string, title: string, caption: string, unit: LineChart['unit'], data: IntervalSeries,
  extra: Partial<Pick<LineChart, 'hlines' | 'vlines' | 'bands'>> = {}, names: Record<string, string> = {}): string {
  let measured = 0;
  const series = Object.entries(data.values).map(([name, values]) => ({
    name: names[name] ?? name, values, ...(REFERENCE_SERIES[name] ?? { color: COLORS[measured++ % COLORS.length]!, dashed: false }),
  }));
  return renderLineChart({ id, title, caption, unit, x: data.x, xLabel: X_LABEL, series, ...extra });
}

function verdict(s: RunSummary): { text: string; cls: string } {
  if (s.aborted) return { text: `ABORTED (${s.aborted.reason})`, cls: 'fail' };
  if (!s.thresholds.ok) return { text: 'THRESHOLDS FAILED', cls: 'fail' };
  return { text: s.thresholds.results.length ? 'THRESHOLDS PASSED' : 'COMPLETED (no thresholds)', cls: 'pass' };
}

function table(head: string[], rows: string[][], attrs: (string | null)[] = []): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r, i) => `<tr${attrs[i] ? ` ${attrs[i]}` : ''}>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
}

/** Key/value rows; values are escaped here, objects shown as compact JSON. */
function kv(rows: [string, unknown][]): string {
  const show = (v: unknown) => (typeof v === 'object' && v !== null ? `<code>${esc(JSON.stringify(v))}</code>` : esc(v));
  return `<table class="kv"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${show(v)}</td></tr>`).join('')}</tbody></table>`;
}

function tile(label: string, value: string, bad = false): string {
  return `<div class="tile${bad ? ' bad' : ''}"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div></div>`;
}

function metricValues(m: RunSummary['metrics'][string]): string {
  const v = m.values;
  switch (m.type) {
    case 'trend':
      return ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)'].map((k) => `${k}=${fmtMs(v[k] ?? 0)}`).join(' ') + ` count=${v.count}`;
    case 'counter':
      return `${fmtCount(v.count ?? 0)} (${fmtCount(v.rate ?? 0)}/s)`;
    case 'rate':
      return `${((v.rate ?? 0) * 100).toFixed(2)}% ✓ ${v.passes} ✗ ${v.fails}`;
    case 'gauge':
      return `${fmtCount(v.value ?? 0)} min=${fmtCount(v.min ?? 0)} max=${fmtCount(v.max ?? 0)}`;
  }
}

function headline(s: RunSummary): string {
  const count = (m: string) => s.metrics[m]?.values.count ?? 0;
  const dl = s.metrics.delivery_latency?.values;
  const secs = s.phases.measured_ms / 1000;
  const tiles = [
    tile('delivery p50', dl ? fmtMs(dl.med ?? 0) : 'n/a'),
    tile('delivery p95', dl ? fmtMs(dl['p(95)'] ?? 0) : 'n/a'),
    tile('delivery p99', dl ? fmtMs(dl['p(99)'] ?? 0) : 'n/a'),
    tile('sent', `${count('messages_sent').toLocaleString('en')} (${fmtCount(secs > 0 ? Math.round(count('messages_sent') / secs) : 0)}/s)`),
    tile('delivered', count('messages_delivered').toLocaleString('en')),
    tile('lost / dup / out of order', `${count('delivery_lost')} / ${count('delivery_duplicated')} / ${count('delivery_out_of_order')}`,
      count('delivery_lost') + count('delivery_duplicated') + count('delivery_out_of_order') > 0),
    tile('dropped iterations', String(count('dropped_iterations')), count('dropped_iterations') > 0),
    tile('errors', String(count('errors') + count('connect_errors')), count('errors') + count('connect_errors') > 0),
  ];
  return `<div class="tiles">${tiles.join('')}</div>`;
}

function charts(s: RunSummary): string {
  // Every chart over time shows the fault windows.
  const windowEnd = { vlines: [{ x: s.plan.windowMs / 1000, label: 'end of schedule' }], bands: faultBands(s) };
  const latencyLimits = s.plan.thresholds
    .filter((t) => splitMetricName(t.metric).base === 'delivery_latency' && t.aggregation === 'p')
    .map((t) => ({ y: t.limit, label: `threshold ${t.metric} ${t.source}` }));
  const rates = rateSeries(s);
  return [
    chart('chart-latency', 'Delivery latency per interval',
      'scheduled send time -> delivered at the recipient (no coordinated omission), percentiles of each interval\'s samples',
      'ms', latencySeries(s, 'delivery_latency'), { hlines: latencyLimits, ...windowEnd }),
    chart('chart-rate', 'Scheduled vs achieved rate',
      rates.scheduled ? 'messages per second the executors scheduled, sent and got delivered; the lines part where the rate is not kept'
        : 'closed-model executors only: there is no schedule, sent and delivered per second', 'per_s', rates, windowEnd),
    chart('chart-connections', 'Connections and VUs', 'open connections, VUs running an iteration, VUs allocated (end of each interval)',
      'count', connectionSeries(s), windowEnd, { vus_max: 'vus allocated' }),
    chart('chart-errors', 'Errors per interval', 'error frames, dropped iterations and any other failure counter that was non-zero (counts per interval)',
      'count', errorSeries(s), windowEnd),
    chart('chart-cpu', 'Load generator CPU', '% of one core: the whole process and its busiest worker thread (near 100 %: the generator may be the bottleneck)',
      'percent', cpuSeries(s), windowEnd, { busiest_thread: 'busiest thread' }),
    ...(s.reports.media ? [
      chart('chart-media-latency', 'Media latency per interval', 'media messages: scheduled send time -> the recipient downloaded, decrypted and verified the file',
        'ms', latencySeries(s, 'media_latency'), windowEnd),
      chart('chart-media-bandwidth', 'Media bandwidth', 'media bytes per second: ciphertext uploaded by senders and downloaded by recipients (B/s)',
        'per_s', mediaBandwidthSeries(s), windowEnd, { up: 'bytes up', down: 'bytes down' }),
    ] : []),
  ].join('\n');
}

function faultsSection(s: RunSummary): string {
  const r = s.reports.faults;
  if (!r) return '';
  const n = (v: number | null, unit = '') => (v === null ? 'n/a' : `${v}${unit}`);
  const rows = r.faults.map((f) => [
    esc(`#${f.id}`), esc(f.label), esc(f.window ? `${f.window.start_s}s – ${f.window.end_s}s` : 'did not run'),
    esc(f.time_to_served_ms === null ? 'not served again' : fmtMs(f.time_to_served_ms)),
    esc(!f.readiness ? 'n/a' : f.readiness.lost_at_s === null ? 'never lost' : f.readiness.time_to_ready_ms === null ? 'not ready again' : fmtMs(f.readiness.time_to_ready_ms)),
    esc(`${f.span.from_s}s – ${f.span.to_s}s${f.shared_with.length ? ` (shared with #${f.shared_with.join(', #')})` : ''}`),
    esc(f.sends_failed), esc(f.sends_retried), esc(f.duplicates), esc(f.reorderings), esc(f.errors.join('; ') || '—'),
  ]);
  const attrs = r.faults.map((f) => `class="fault${f.errors.length || f.duplicates || f.reorderings ? ' fail' : ''}" data-fault="${f.id}"`);
  return `<h2>Faults</h2>
<p class="muted">Served again: ${esc(r.served_again_method)}. Ready again: ${esc(r.readiness_method)}. Counts are summed over each fault's span of the timeline (from its start to the next fault's).
Acknowledged messages lost: <b id="faults-lost">${esc(n(r.lost_run_total))}</b> over the whole run (known only at its end, not per fault).
Before the first fault: ${esc(r.before_faults.sends_failed)} failed sends, ${esc(r.before_faults.duplicates)} duplicates, ${esc(r.before_faults.reorderings)} reorderings.</p>
${table(['fault', 'what', 'window', 'time to served again (clients)', 'time to ready again (health checks)', 'span counted', 'sends failed', 'sends retried', 'duplicates', 'reorderings', 'errors'], rows, attrs)}`;
}

/** One shaded band per fault that ran: its window, labelled. */
function faultBands(s: RunSummary): Band[] {
  return (s.reports.faults?.faults ?? []).filter((f) => f.window).map((f) => ({
    x0: f.window!.start_s, x1: f.window!.end_s, label: `#${f.id} ${f.label}`, key: String(f.id),
  }));
}

function integrity(s: RunSummary): string {
  const rows = integrityCounts(s);
  const bars = renderBarChart('chart-integrity', 'Integrity', 'every message counted per recipient: lost, duplicated and out of order must be 0',
    rows.map((r) => ({ label: r.label, value: r.value, bad: r.bad })));
  const t = table(['counter', 'count'], rows.map((r) => [esc(r.label), esc(r.value)]),
    rows.map((r) => `data-integrity="${esc(r.metric)}" class="${r.bad ? 'fail' : ''}"`));
  const m = s.reports.media;
  if (!m) return `<div class="row">${bars}${t}</div>`;
  const media = kv([['media scheduled', m.scheduled], ['verified (downloaded, decrypted, hashes match)', m.verified],
    ['failed', `${m.failed} ${JSON.stringify(m.failed_by_reason)}`], ['dropped', m.dropped],
    ['queued at the end', `${m.queued_at_end} ${JSON.stringify(m.queued_by_stage)}`], ['adds up', m.adds_up ? '✓' : '✗ DOES NOT ADD UP'],
    ['bytes up / down', `${m.bytes_up} / ${m.bytes_down}`]]);
  return `<div class="row">${bars}${t}</div><div id="media-accounting" data-adds-up="${m.adds_up}">${media}</div>`;
}

function thresholds(s: RunSummary): string {
  if (s.thresholds.results.length === 0) return '<p class="muted">This scenario has no thresholds.</p>';
  const rows = s.thresholds.results.map((r) => [esc(r.metric), `<code>${esc(r.source)}</code>`, esc(+r.actual.toFixed(3)), r.ok ? '✓ pass' : '✗ fail']);
  const attrs = s.thresholds.results.map((r) => `class="threshold ${r.ok ? 'pass' : 'fail'}" data-metric="${esc(r.metric)}" data-ok="${r.ok}"`);
  return table(['metric', 'threshold', 'actual', 'result'], rows, attrs);
}

function metrics(s: RunSummary): string {
  const names = Object.keys(s.metrics).sort();
  return table(['metric', 'type', 'values'], names.map((n) => [esc(n), esc(s.metrics[n]!.type), esc(metricValues(s.metrics[n]!))]));
}

function scenario(s: RunSummary): string {
  const sc = s.scenario;
  const p = sc.production;
  const ex = s.plan.executors;
  const executors = table(['name', 'executor', 'exec', 'start', 'duration', 'schedule'], ex.map((e) => [
    esc(e.name), esc(e.executor), esc(e.exec), esc(formatDurationMs(e.startMs)), esc(formatDurationMs(e.durationMs)), esc(describeExecutor(e)),
  ]));
  const traffic = kv(Object.entries(s.plan.traffic) as [string, unknown][]);
  const spec = kv(Object.entries(s.thresholds_spec) as [string, unknown][]);
  return `<h3>What it models</h3>${kv([
    ['scenario', `${sc.name} (${sc.file})`], ['description', sc.description],
    ['production users', p.users.toLocaleString('en')], ['production messages/s', p.messagesPerSecond.toLocaleString('en')],
    ['production notes', p.notes], ['scale factor', `${sc.scale.factor.toExponential(3)} (--scale ${sc.scale.multiplier})`],
    ['scale basis', sc.scale.basis], ['users here', s.plan.traffic.users.toLocaleString('en')],
    ['delivery grace', formatDurationMs(s.plan.deliveryGraceMs)], ['iteration timeout', formatDurationMs(s.plan.iterationTimeoutMs)],
  ])}<h3>Traffic model</h3>${traffic}<h3>Executors</h3>${executors}<h3>Thresholds as written</h3>${spec}`;
}

function run(s: RunSummary): string {
  const m = s.machine;
  const rows: [string, unknown][] = [
    ['run id', s.run_id], ['started', s.started_at], ['command', s.command], ['exit code', s.exit_code],
    ['target', `${s.target.driver} ${s.target.urls.join(', ')}${s.target.started_by_loadgen ? ' (started by loadgen)' : ''}, ${s.target.transport} client`],
    ...(s.target.store ? [['store', s.target.store] as [string, unknown]] : []),
    ['shards', s.shards.map((x) => `${x.index + 1}/${x.count}`).join(', ')], ['worker threads', s.workers], ['interval', formatDurationMs(s.interval_ms)],
    ['phases', `setup ${fmtMs(s.phases.setup_ms)} | measured ${fmtMs(s.phases.measured_ms)} | grace ${fmtMs(s.phases.grace_ms)} | teardown ${fmtMs(s.phases.teardown_ms)}`],
    ['setup', `${s.setup.connected} connections${s.setup.failed ? `, ${s.setup.failed} failed` : ''}`],
    ['machine', `${m.hostname}: ${m.cpus} x ${m.cpu_model}, Node ${m.node}`],
    ['load average (1 min)', `${m.loadavg_1m_start?.toFixed(2) ?? '?'} at start -> ${m.loadavg_1m_end?.toFixed(2) ?? '?'} at end`],
    ['load generator CPU', `${s.loadgen.cpu_percent_avg}% of one core (avg), busiest thread ${s.loadgen.busiest_thread_cpu_percent_max}% (max)`],
  ];
  if (s.system) {
    rows.push(['system processes', Object.entries(s.system).map(([k, u]) => `${k} ${u.cpu_percent}% cpu${u.rss_bytes ? ` ${(u.rss_bytes / 2 ** 20).toFixed(0)} MiB` : ''}`).join(', ')]);
  }
  for (const w of s.loadgen.warnings) rows.push(['warning', w]);
  if (s.reports.breakpoint) rows.push(['breakpoint report', s.reports.breakpoint]);
  if (s.reports.reconnect) rows.push(['reconnect report', s.reports.reconnect]);
  for (const l of s.reports.lost_examples ?? []) rows.push(['lost (example)', l]);
  return kv(rows);
}

export const REPORT_CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1560px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #d8dce3;padding-bottom:4px}h3{font-size:14px;margin:14px 0 6px}
.muted{color:#667085;font-weight:normal}.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;font-size:13px;vertical-align:middle}
.badge.pass{background:#d1fadf;color:#05603a}.badge.fail{background:#fee4e2;color:#912018}
.tiles{display:flex;flex-wrap:wrap;gap:8px;margin:10px 0}.tile{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:6px 12px;min-width:120px}
.tile .label{font-size:12px;color:#667085}.tile .value{font-size:18px;font-weight:600}.tile.bad{border-color:#f04438}.tile.bad .value{color:#b42318}
.grid2{display:flex;flex-wrap:wrap;gap:12px}.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
figure.chart{background:#fff;border:1px solid #d8dce3;border-radius:6px;margin:0;padding:8px;flex:1 1 600px;max-width:900px;box-sizing:border-box}
figure.chart svg{width:100%;height:auto;display:block}figcaption{margin-bottom:4px}
.plot{position:relative}svg text{font-size:11px;fill:#475467}svg .axis{font-size:12px}
line.grid{stroke:#eaecf0}line.axisline{stroke:#98a2b3}line.ref{stroke:#f04438;stroke-dasharray:4 3}text.reflabel{fill:#b42318}
path.series{fill:none;stroke-width:1.8}rect.band{fill:#f79009;fill-opacity:.16;stroke:#f79009;stroke-opacity:.5}text.bandlabel{fill:#b54708;font-size:10px}line.cursor{stroke:#667085}rect.bar{fill:#1f77b4}rect.bar.bad{fill:#d62728}
.legend{font-size:12px;margin-top:2px}.key{margin-right:14px}.key i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
.tip{position:absolute;top:8px;pointer-events:none;background:rgba(255,255,255,.95);border:1px solid #98a2b3;border-radius:4px;padding:4px 8px;font-size:12px;white-space:nowrap}
table{border-collapse:collapse;background:#fff;margin:4px 0}th,td{border:1px solid #d8dce3;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f2f4f7}tr.fail td{background:#fef3f2}tr.pass td:last-child{color:#05603a}tr.fail td:last-child{color:#b42318;font-weight:600}
table.kv th{width:200px;font-weight:600}code{font:12px ui-monospace,monospace;word-break:break-all}
`;

// Hover: a cursor line and the values of the nearest interval. Reads the chart's data-chart JSON; no network.
export const REPORT_JS = `
for (const fig of document.querySelectorAll('figure.chart[data-chart]')) {
  const d = JSON.parse(fig.dataset.chart);
  const svg = fig.querySelector('svg'), tip = fig.querySelector('.tip'), cur = fig.querySelector('line.cursor');
  const fmt = (v) => v === null ? '–' : (d.unit === 'ms' ? (v >= 1000 ? (v / 1000).toFixed(2) + 's' : v.toFixed(v < 10 ? 2 : 1) + 'ms')
    : d.unit === 'percent' ? v.toFixed(1) + '%' : d.unit === 'per_s' ? Math.round(v) + '/s' : String(Math.round(v * 100) / 100));
  svg.addEventListener('mousemove', (e) => {
    const r = svg.getBoundingClientRect();
    const x = d.xmin + ((e.clientX - r.left) * (svg.viewBox.baseVal.width / r.width) - d.left) / d.width * (d.xmax - d.xmin);
    let best = 0;
    d.x.forEach((v, i) => { if (Math.abs(v - x) < Math.abs(d.x[best] - x)) best = i; });
    if (!d.x.length) return;
    const px = d.left + (d.x[best] - d.xmin) / (d.xmax - d.xmin) * d.width;
    cur.setAttribute('x1', px); cur.setAttribute('x2', px); cur.setAttribute('visibility', 'visible');
    tip.textContent = 't=' + d.x[best] + 's  ' + d.series.map((s) => s.name + ' ' + fmt(s.values[best])).join('  ');
    tip.hidden = false;
    tip.style.left = Math.min(px / svg.viewBox.baseVal.width * r.width + 12, r.width - tip.offsetWidth) + 'px';
  });
  svg.addEventListener('mouseleave', () => { tip.hidden = true; cur.setAttribute('visibility', 'hidden'); });
}
`;

export function renderReportHtml(s: RunSummary): string {
  const v = verdict(s);
  const title = `${s.scenario.name}: load run ${s.run_id}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${REPORT_CSS}</style></head>
<body><main>
<h1>${esc(s.scenario.name)} <span class="badge ${v.cls}" id="verdict">${esc(v.text)}</span></h1>
<div class="muted">${esc(s.scenario.description)}</div>
<div class="muted">run <code>${esc(s.run_id)}</code>, started ${esc(s.started_at)}, measured ${esc(fmtMs(s.phases.measured_ms))}, exit code ${esc(s.exit_code)} — <code>${esc(s.command)}</code></div>
${headline(s)}
<h2>Over time</h2>
<div class="grid2">
${charts(s)}
</div>
${faultsSection(s)}
<h2>Integrity</h2>
${integrity(s)}
<h2>Thresholds</h2>
<div id="thresholds">${thresholds(s)}</div>
<h2>Metrics</h2>
${metrics(s)}
<h2>Scenario</h2>
${scenario(s)}
<h2>Run</h2>
${run(s)}
<p class="muted">Written by loadgen next to summary.json, summary.txt and junit.xml; percentiles come from HDR histograms (summary.json keeps them encoded).</p>
</main>
<script>${REPORT_JS}</script>
</body></html>
`;
}

export function writeReportHtml(summary: RunSummary, outDir: string): string {
  const file = join(outDir, REPORT_HTML);
  writeFileSync(file, renderReportHtml(summary));
  return file;
}

export const reportHtmlOutput: Output = {
  name: 'report-html',
  end: (summary, outDir) => void writeReportHtml(summary, outDir),
};
