// The whole capacity report as one self-contained HTML page (capacity.html):
// every section of ./sections.ts as HTML tables, with the charts inline as
// SVG: the USL fit, the cores a node's USL lets count, the sensitivity
// tornado, the fleet by tier and the cost by tier. No script, no external reference, a CSP that forbids fetching
// anything; test/capacity-html.test.ts opens it in headless Chromium.
import type { CapacityReport } from '../report';
import { renderBarsSvg, renderCoresSvg, renderTornadoSvg } from './charts';
import type { Section, Table } from './section';
import { reportSections } from './sections';
import { renderUslSvg } from './svg';

export const CAPACITY_HTML = 'capacity.html';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** `code` spans in the worded text become <code>. */
const text = (s: string): string => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

function table(t: Table): string {
  const cls = (i: number) => ((t.align?.[i] ?? 'left') === 'right' ? ' class="num"' : '');
  return `<table><thead><tr>${t.headers.map((h, i) => `<th${cls(i)}>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    t.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${text(c)}</td>`).join('')}</tr>`).join('') + '</tbody></table>';
}

function figure(id: string, svg: string): string {
  return `<figure class="chart" id="${id}">${svg}</figure>`;
}

function charts(r: CapacityReport): Map<string, string> {
  const byTitle = new Map<string, string>();
  if (r.usl.fit) byTitle.set('Universal Scalability Law', figure('chart-usl', renderUslSvg(r.usl.points, r.usl.fit)));
  byTitle.set('Projected fleet', figure('chart-fleet', renderBarsSvg('svg-fleet', 'Nodes by tier (with headroom)', 'nodes',
    r.fleet.tiers.map((t) => ({ label: t.tier, value: t.nodes ?? 0, note: t.nodes === null ? 'not measured' : t.complete ? undefined : 'floor' })))));
  const sized = r.profiles.filter((p) => !p.measured_rates && p.node_cores !== null && p.effective_cores !== null);
  byTitle.set('Hardware profiles', figure('chart-cores', renderCoresSvg(r.core_scaling.sigma, r.core_scaling.kappa, r.measured.machine?.cpus ?? null,
    sized.map((p) => ({ name: p.profile, cores: p.node_cores!, effective: p.effective_cores! })))));
  byTitle.set('Sensitivity', figure('chart-tornado', renderTornadoSvg(r.sensitivity)));
  byTitle.set('Cost', figure('chart-cost', renderBarsSvg('svg-cost', 'Monthly cost by tier', 'USD/month',
    r.cost.tiers.map((t) => ({ label: t.tier, value: t.usd_per_month ?? 0, note: t.usd_per_month === null ? 'not measured' : t.complete ? undefined : 'floor' })))));
  return byTitle;
}

function section(s: Section, chart: string | undefined): string {
  const id = s.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `<section id="${id}"><h2>${esc(s.title)}</h2>${s.paragraphs.map((p) => `<p>${text(p)}</p>`).join('')}${chart ?? ''}` +
    `${s.tables.map(table).join('')}${s.bullets.length > 0 ? `<ul>${s.bullets.map((b) => `<li>${text(b)}</li>`).join('')}</ul>` : ''}</section>`;
}

const STYLE = `body{font-family:sans-serif;margin:24px;max-width:1400px;color:#222}table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top}th{background:#f2f2f2}td.num,th.num{text-align:right;white-space:nowrap}
figure.chart{margin:8px 0}code{background:#f4f4f4}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}`;

export function renderHtml(r: CapacityReport): string {
  const byTitle = charts(r);
  const changed = r.changed_parameters.length === 0 ? 'seed defaults' : `changed: ${r.changed_parameters.map((p) => `${p} = ${r.model[p]}`).join(', ')}`;
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
    `<title>Capacity model ${esc(r.generated_at)}</title><style>${STYLE}</style></head><body>` +
    `<h1>Capacity model</h1><p>Generated ${esc(r.generated_at)}. Model: ${esc(changed)}${r.profile ? `; profile ${esc(r.profile)}` : ''}. ` +
    `Sources: ${esc(r.measured.sources.join(', ') || 'none (nothing measured)')}.</p>` +
    reportSections(r).map((s) => section(s, byTitle.get(s.title))).join('') + '</body></html>\n';
}
