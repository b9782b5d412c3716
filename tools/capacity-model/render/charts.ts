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

const CORES_CHART_MAX = 64;

/**
 * Cores that count against cores (effective_cores over 1..64): the linear ideal, the USL curve the profiles
 * use, the span a run measured (shaded) and a dot per profile: how far the extrapolation reaches.
 */
export function renderCoresSvg(sigma: number, kappa: number, measuredUpTo: number | null, profiles: readonly { name: string; cores: number; effective: number }[]): string {
  const top = 40;
  const left = 70;
  const plotW = WIDTH - left - 40;
  const plotH = 300;
  const height = top + plotH + 50;
  const xMax = Math.max(CORES_CHART_MAX, ...profiles.map((p) => p.cores));
  const x = (c: number) => left + (c / xMax) * plotW;
  const y = (e: number) => top + plotH - (e / xMax) * plotH;
  const curve = Array.from({ length: xMax }, (_, i) => i + 1).map((c) => `${c === 1 ? 'M' : 'L'}${x(c).toFixed(1)} ${y(c / (1 + sigma * (c - 1) + kappa * c * (c - 1))).toFixed(1)}`).join(' ');
  const body: string[] = [
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<path class="series" data-series="ideal" d="M${x(1).toFixed(1)} ${y(1).toFixed(1)} L${x(xMax).toFixed(1)} ${y(xMax).toFixed(1)}" stroke="#aaa" stroke-dasharray="4 4" fill="none"/>`,
    `<path class="series" data-series="usl" d="${curve}" stroke="#3b6fb6" stroke-width="2" fill="none"/>`,
  ];
  if (measuredUpTo !== null) {
    body.push(`<rect class="measured" x="${x(1).toFixed(1)}" y="${top}" width="${(x(measuredUpTo) - x(1)).toFixed(1)}" height="${plotH}" fill="#4a8c5c" fill-opacity="0.2"><title>measured: 1..${measuredUpTo} processes</title></rect>`);
  }
  for (const p of profiles) {
    body.push(`<circle class="profile" data-profile="${esc(p.name)}" cx="${x(p.cores).toFixed(1)}" cy="${y(p.effective).toFixed(1)}" r="5" fill="#e08a2c"/>` +
      `<text x="${(x(p.cores) - 6).toFixed(1)}" y="${(y(p.effective) - 10).toFixed(1)}" text-anchor="end">${esc(p.name)}: ${esc(formatNumber(p.effective))} of ${p.cores}</text>`);
  }
  for (const t of [0, 16, 32, 48, 64].filter((v) => v <= xMax)) {
    body.push(`<text x="${x(t).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle">${t}</text><text x="${left - 8}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`);
  }
  body.push(`<text x="${left + plotW / 2}" y="${height - 8}" text-anchor="middle">cores of a node (dashed: every core counts; shaded: what a run measured)</text>`);
  return frame('svg-cores', `Cores that count: USL over cores, sigma ${formatNumber(sigma)}, kappa ${formatNumber(kappa)}`, height, body);
}
