// Inline SVG charts for the HTML report: a line chart over the run's
// intervals and a horizontal bar chart. Plain strings, no library, nothing
// fetched: the report must open from a file with no network. Every text and
// attribute value goes through esc(); each plotted series is one <path> with
// data-series / data-points, so a test (or a reader with devtools) can count
// what was drawn.

import { escapeMarkup } from './escape';

/** HTML-escape text and attribute values (quotes included). */
export const esc = escapeMarkup;

export type Unit = 'ms' | 'per_s' | 'count' | 'percent';

export interface LineSeries {
  name: string;
  /** One value per x; null: no sample in that interval (the line breaks). */
  values: (number | null)[];
  color: string;
  dashed?: boolean;
}

export interface LineChart {
  id: string;
  title: string;
  /** What the chart tells a reader, one sentence. */
  caption: string;
  unit: Unit;
  x: number[];
  xLabel: string;
  series: LineSeries[];
  /** Horizontal reference lines (thresholds). */
  hlines?: { y: number; label: string }[];
  /** Vertical reference lines (end of the schedule). */
  vlines?: { x: number; label: string }[];
  /** Shaded spans of x with a label (fault windows), drawn under the series. */
  bands?: Band[];
}

export interface Band {
  x0: number;
  x1: number;
  label: string;
  /** Kept on the element as data-band (tests and readers find a fault's band by it). */
  key: string;
}

/** A band narrower than this (px) is widened so an instant fault stays visible. */
const BAND_WIDTH_MIN_PX = 3;

const W = 760;
const H = 260;
const M = { left: 64, right: 16, top: 14, bottom: 36 };
const TICKS = 5;

export function fmtValue(v: number, unit: Unit): string {
  if (!Number.isFinite(v)) return '–';
  switch (unit) {
    case 'ms':
      if (v >= 1000) return `${+(v / 1000).toFixed(2)}s`;
      return `${+v.toFixed(v < 10 ? 2 : 1)}ms`;
    case 'percent':
      return `${+v.toFixed(1)}%`;
    case 'per_s':
      return `${fmtShort(v)}/s`;
    default:
      return fmtShort(v);
  }
}

function fmtShort(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(a < 10 && !Number.isInteger(v) ? 2 : 0)}`;
}

/** A "nice" axis maximum and step (1, 2, 5 x 10^k) covering `max`. */
export function niceScale(max: number, ticks = TICKS): { max: number; step: number } {
  if (!(max > 0)) return { max: 1, step: 1 / ticks };
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw)!;
  return { max: step * Math.ceil(max / step - 1e-9), step };
}

export function renderLineChart(c: LineChart): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xmin = Math.min(0, ...c.x);
  const xmax = Math.max(xmin + 1, ...c.x);
  const values = c.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const y = niceScale(Math.max(0, ...values, ...(c.hlines ?? []).map((h) => h.y)));
  const px = (x: number) => M.left + ((x - xmin) / (xmax - xmin)) * pw;
  const py = (v: number) => M.top + ph - (Math.max(0, v) / y.max) * ph;
  const out: string[] = [];
  out.push(`<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(c.title)}">`);
  // Grid and y axis labels.
  for (let v = 0; v <= y.max + y.step / 2; v += y.step) {
    out.push(`<line class="grid" x1="${M.left}" x2="${M.left + pw}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}"/>`);
    out.push(`<text class="tick" x="${M.left - 6}" y="${(py(v) + 4).toFixed(1)}" text-anchor="end">${esc(fmtValue(v, c.unit))}</text>`);
  }
  const xs = niceScale(xmax - xmin, 8);
  for (let v = 0; v <= xmax - xmin + 1e-9; v += xs.step) {
    out.push(`<text class="tick" x="${px(xmin + v).toFixed(1)}" y="${M.top + ph + 16}" text-anchor="middle">${esc(+(xmin + v).toFixed(2))}</text>`);
  }
  out.push(`<text class="axis" x="${M.left + pw / 2}" y="${H - 4}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<line class="axisline" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}"/>`);
  out.push(`<line class="axisline" x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}"/>`);
  (c.bands ?? []).forEach((b, k) => {
    const x0 = px(Math.max(xmin, Math.min(xmax, b.x0)));
    const x1 = Math.max(x0 + BAND_WIDTH_MIN_PX, px(Math.max(xmin, Math.min(xmax, b.x1))));
    out.push(`<rect class="band" data-band="${esc(b.key)}" x="${x0.toFixed(1)}" y="${M.top}" width="${(x1 - x0).toFixed(1)}" height="${ph}"><title>${esc(b.label)}</title></rect>`);
    out.push(`<text class="bandlabel" x="${(x0 + 3).toFixed(1)}" y="${M.top + 11 + (k % 3) * 12}">${esc(b.label)}</text>`);
  });
  for (const h of c.hlines ?? []) {
    out.push(`<line class="ref" x1="${M.left}" x2="${M.left + pw}" y1="${py(h.y).toFixed(1)}" y2="${py(h.y).toFixed(1)}"/>`);
    out.push(`<text class="reflabel" x="${M.left + pw - 4}" y="${(py(h.y) - 4).toFixed(1)}" text-anchor="end">${esc(h.label)}</text>`);
  }
  for (const v of c.vlines ?? []) {
    if (v.x < xmin || v.x > xmax) continue;
    out.push(`<line class="ref" x1="${px(v.x).toFixed(1)}" x2="${px(v.x).toFixed(1)}" y1="${M.top}" y2="${M.top + ph}"/>`);
    out.push(`<text class="reflabel" x="${(px(v.x) - 4).toFixed(1)}" y="${M.top + ph - 6}" text-anchor="end">${esc(v.label)}</text>`);
  }
  for (const s of c.series) {
    let d = '';
    let points = 0;
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || i >= c.x.length) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${px(c.x[i]!).toFixed(1)} ${py(v).toFixed(1)}`;
      pen = true;
      points++;
    });
    // A lone point draws nothing as a path: a dot makes it visible.
    const dots = points === 1 ? s.values.map((v, i) => (v === null || i >= c.x.length ? '' : `<circle cx="${px(c.x[i]!).toFixed(1)}" cy="${py(v).toFixed(1)}" r="2.5" fill="${esc(s.color)}"/>`)).join('') : '';
    out.push(`<path class="series" data-series="${esc(s.name)}" data-points="${points}" d="${esc(d)}" stroke="${esc(s.color)}"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>${dots}`);
  }
  out.push(`<line class="cursor" x1="0" x2="0" y1="${M.top}" y2="${M.top + ph}" visibility="hidden"/>`);
  out.push('</svg>');
  // What the hover script needs: pixel mapping and the values.
  const data = { left: M.left, width: pw, xmin, xmax, unit: c.unit, x: c.x, series: c.series.map((s) => ({ name: s.name, color: s.color, values: s.values })) };
  const legend = c.series.map((s) => `<span class="key"><i style="background:${esc(s.color)}"></i>${esc(s.name)}</span>`).join('');
  return `<figure class="chart" id="${esc(c.id)}" data-chart="${esc(JSON.stringify(data))}">` +
    `<figcaption><b>${esc(c.title)}</b> <span class="muted">${esc(c.caption)}</span></figcaption>` +
    `<div class="plot">${out.join('')}<div class="tip" hidden></div></div><div class="legend">${legend}</div></figure>`;
}

export interface Bar {
  label: string;
  value: number;
  /** Highlight (a non-zero integrity failure). */
  bad?: boolean;
}

export function renderBarChart(id: string, title: string, caption: string, bars: Bar[]): string {
  const rowH = 26;
  const labelW = 150;
  const valueW = 90;
  const pw = W - labelW - valueW - 16;
  const h = bars.length * rowH + 8;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rows = bars.map((b, i) => {
    const y = 4 + i * rowH;
    // Non-zero counts stay visible next to a large one (a single lost message matters).
    const w = b.value > 0 ? Math.max(2, (b.value / max) * pw) : 0;
    return `<text class="barlabel" x="${labelW - 8}" y="${y + 17}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect class="bar${b.bad ? ' bad' : ''}" data-bar="${esc(b.label)}" data-value="${b.value}" x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}"/>` +
      `<text class="barvalue" x="${labelW + w + 6}" y="${y + 17}">${esc(b.value.toLocaleString('en'))}</text>`;
  });
  return `<figure class="chart bars" id="${esc(id)}"><figcaption><b>${esc(title)}</b> <span class="muted">${esc(caption)}</span></figcaption>` +
    `<svg viewBox="0 0 ${W} ${h}" role="img" aria-label="${esc(title)}">${rows.join('')}</svg></figure>`;
}
