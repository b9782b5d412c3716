// The report's bar charts as self-contained SVG: the sensitivity tornado
// (bars from the base to each end of a parameter's range) and plain
// horizontal bars (fleet by tier, cost by tier). Hand-written like ./svg.ts;
// every bar carries data-bar / data-value so a browser test can read it back.
import type { Sensitivity } from '../sensitivity';
import { formatNumber, formatSi } from '../units';

/** Short enough for a label: 3.75e12 -> "3.75T", 0.85 -> "0.85". */
const compact = (v: number): string => (Math.abs(v) >= 1e4 ? formatSi(v, '') : formatNumber(v));

const WIDTH = 860;
const ROW_PX = 26;
const LABEL_PX = 300;
const TORNADO_ROWS_MAX = 15;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function frame(id: string, title: string, height: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" id="${esc(id)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="12">` +
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="15">${esc(title)}</text>${body.join('')}</svg>`;
}

/** The largest swings first, at most TORNADO_ROWS_MAX rows; low end in blue, high end in orange. */
export function renderTornadoSvg(s: Sensitivity): string {
  const rows = s.rows.slice(0, TORNADO_ROWS_MAX);
  const top = 50;
  const height = top + rows.length * ROW_PX + 40;
  const values = rows.flatMap((r) => [r.nodes_at_low, r.nodes_at_high]).concat(s.base_nodes);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const x0 = LABEL_PX;
  const plot = WIDTH - LABEL_PX - 30;
  const x = (v: number) => x0 + ((v - min) / span) * plot;
  const body: string[] = [];
  rows.forEach((r, i) => {
    const y = top + i * ROW_PX;
    body.push(`<text x="${x0 - 8}" y="${y + 16}" text-anchor="end">${esc(r.name)} (${esc(compact(r.low_value))} .. ${esc(compact(r.high_value))})</text>`);
    for (const [end, v, color] of [['low', r.nodes_at_low, '#3b6fb6'], ['high', r.nodes_at_high, '#e08a2c']] as const) {
      const a = Math.min(x(v), x(s.base_nodes));
      const w = Math.abs(x(v) - x(s.base_nodes));
      body.push(`<rect class="bar" data-bar="${esc(r.name)}:${end}" data-value="${v}" data-swing="${r.swing_nodes}" x="${a.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW_PX - 8}" fill="${color}"><title>${esc(r.name)} = ${esc(formatNumber(end === 'low' ? r.low_value : r.high_value))}: ${esc(formatNumber(v))} nodes</title></rect>`);
    }
  });
  const bx = x(s.base_nodes).toFixed(1);
  body.push(`<line x1="${bx}" x2="${bx}" y1="${top - 6}" y2="${top + rows.length * ROW_PX}" stroke="#222"/>`);
  body.push(`<text x="${bx}" y="${top - 10}" text-anchor="middle">base ${esc(formatNumber(s.base_nodes))} nodes</text>`);
  body.push(`<text x="${x0}" y="${height - 12}">${esc(formatNumber(min))}</text><text x="${x0 + plot}" y="${height - 12}" text-anchor="end">${esc(formatNumber(max))} nodes</text>`);
  body.push(`<text x="${WIDTH - 10}" y="20" text-anchor="end" fill="#3b6fb6">low end</text><text x="${WIDTH - 10}" y="36" text-anchor="end" fill="#e08a2c">high end</text>`);
  return frame('svg-tornado', 'Sensitivity: all nodes as each parameter moves over its range', height, body);
}

export interface Bar {
  label: string;
  value: number;
  /** Shown after the value ("floor", "not measured"). */
  note?: string;
}

/** Horizontal bars from 0; a bar with no value is drawn empty and labelled. */
export function renderBarsSvg(id: string, title: string, unit: string, bars: readonly Bar[]): string {
  const top = 40;
  const height = top + bars.length * ROW_PX + 20;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const x0 = 200;
  const plot = WIDTH - x0 - 190;
  const body = bars.map((b, i) => {
    const y = top + i * ROW_PX;
    const w = (b.value / max) * plot;
    return `<text x="${x0 - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect class="bar" data-bar="${esc(b.label)}" data-value="${b.value}" x="${x0}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW_PX - 8}" fill="#4a8c5c"/>` +
      `<text x="${(x0 + w + 6).toFixed(1)}" y="${y + 16}">${esc(formatNumber(b.value))} ${esc(unit)}${b.note ? ` (${esc(b.note)})` : ''}</text>`;
  });
  return frame(id, title, height, body);
}
