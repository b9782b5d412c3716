// The USL fit as a small self-contained SVG (results/<id>/usl.svg): measured
// points, the fitted curve, the linear ideal lambda*N, and the predicted peak
// N*. Hand-written SVG, no chart library: axes with round ticks, one path per
// series, text escaped.
import type { UslPoint } from '../measured';
import { uslThroughput, type UslFit } from '../usl';
import { formatNumber, formatSi } from '../units';

const WIDTH = 720;
const HEIGHT = 460;
const MARGIN = { left: 78, right: 24, top: 56, bottom: 78 };
const CURVE_SAMPLES = 240;
/** The x axis shows the peak only if it is within this many times the largest measured N. */
const PEAK_SHOWN_RATIO_MAX = 4;

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick step: 1, 2 or 5 times a power of ten, about `count` ticks over [0, max]. */
export function niceStep(max: number, count = 6): number {
  const raw = max / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / pow;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * pow;
}

export function renderUslSvg(points: readonly UslPoint[], fit: UslFit, title = 'Throughput vs concurrency: Universal Scalability Law fit'): string {
  const nMax = Math.max(...points.map((p) => p.concurrency));
  const peakShown = Number.isFinite(fit.peak_concurrency) && fit.peak_concurrency <= nMax * PEAK_SHOWN_RATIO_MAX;
  const xMaxRaw = Math.max(nMax, peakShown ? fit.peak_concurrency * 1.25 : 0) * 1.05;
  const xStep = niceStep(xMaxRaw);
  const xMax = Math.ceil(xMaxRaw / xStep) * xStep;
  const curve = Array.from({ length: CURVE_SAMPLES + 1 }, (_, i) => {
    const n = (xMax * i) / CURVE_SAMPLES;
    return { n, x: n === 0 ? 0 : uslThroughput(fit, n) };
  });
  const yMaxRaw = Math.max(...points.map((p) => p.throughput_per_s), ...curve.map((c) => c.x)) * 1.1 || 1;
  const yStep = niceStep(yMaxRaw);
  const yMax = Math.ceil(yMaxRaw / yStep) * yStep;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (n: number) => MARGIN.left + (n / xMax) * plotW;
  const sy = (x: number) => MARGIN.top + plotH - (Math.min(x, yMax) / yMax) * plotH;
  const f = (v: number) => v.toFixed(1);

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`);
  parts.push(`<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  const subtitle = `sigma=${formatNumber(fit.sigma, 4)}  kappa=${fit.kappa === 0 ? '0' : fit.kappa.toExponential(3)}  lambda=${formatNumber(fit.lambda)}/s  ` +
    (Number.isFinite(fit.peak_concurrency) ? `N*=${formatNumber(fit.peak_concurrency)}  X(N*)=${formatSi(fit.peak_throughput_per_s, 'msgs/s')}` : 'no peak (kappa = 0)') +
    `  R^2=${formatNumber(fit.r_squared, 4)}`;
  parts.push(`<text x="${MARGIN.left}" y="40" fill="#444">${escapeXml(subtitle)}</text>`);
  // grid and ticks
  for (let v = 0; v <= xMax + 1e-9; v += xStep) {
    parts.push(`<line x1="${f(sx(v))}" y1="${MARGIN.top}" x2="${f(sx(v))}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${f(sx(v))}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${escapeXml(formatNumber(v))}</text>`);
  }
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    parts.push(`<line x1="${MARGIN.left}" y1="${f(sy(v))}" x2="${MARGIN.left + plotW}" y2="${f(sy(v))}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${f(sy(v) + 4)}" text-anchor="end">${escapeXml(formatSi(v, ''))}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 36}" text-anchor="middle">concurrency N (${escapeXml(points[0]?.concurrency_from === 'little' ? 'messages in flight, Little\'s law' : 'as given')})</text>`);
  parts.push(`<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">throughput X (msgs/s)</text>`);
  parts.push(`<clipPath id="plot"><rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}"/></clipPath>`);
  // linear ideal, fitted curve, peak marker
  parts.push(`<line x1="${f(sx(0))}" y1="${f(sy(0))}" x2="${f(sx(xMax))}" y2="${f(MARGIN.top + plotH - ((fit.lambda * xMax) / yMax) * plotH)}" stroke="#999" stroke-dasharray="5 4" clip-path="url(#plot)"/>`);
  const d = curve.map((c, i) => `${i === 0 ? 'M' : 'L'}${f(sx(c.n))} ${f(sy(c.x))}`).join(' ');
  parts.push(`<path d="${d}" fill="none" stroke="#1f77b4" stroke-width="2" clip-path="url(#plot)"/>`);
  if (peakShown) {
    parts.push(`<line x1="${f(sx(fit.peak_concurrency))}" y1="${MARGIN.top}" x2="${f(sx(fit.peak_concurrency))}" y2="${MARGIN.top + plotH}" stroke="#d62728" stroke-dasharray="3 3"/>`);
    parts.push(`<text x="${f(sx(fit.peak_concurrency) + 4)}" y="${MARGIN.top + 14}" fill="#d62728">N* = ${escapeXml(formatNumber(fit.peak_concurrency))}</text>`);
  }
  for (const p of points) {
    parts.push(`<circle cx="${f(sx(p.concurrency))}" cy="${f(sy(p.throughput_per_s))}" r="4" fill="#ff7f0e" stroke="#333" stroke-width="0.5"><title>${escapeXml(`${p.source}: N=${formatNumber(p.concurrency)}, X=${formatNumber(p.throughput_per_s)}/s`)}</title></circle>`);
  }
  // legend, in one row under the axis title (outside the plot: a retrograde curve falls to the lower right)
  const ly = HEIGHT - 12;
  const lx = MARGIN.left;
  parts.push(`<circle cx="${lx + 6}" cy="${ly - 4}" r="4" fill="#ff7f0e" stroke="#333" stroke-width="0.5"/><text x="${lx + 16}" y="${ly}">measured</text>`);
  parts.push(`<line x1="${lx + 100}" y1="${ly - 4}" x2="${lx + 124}" y2="${ly - 4}" stroke="#1f77b4" stroke-width="2"/><text x="${lx + 130}" y="${ly}">USL fit</text>`);
  parts.push(`<line x1="${lx + 210}" y1="${ly - 4}" x2="${lx + 234}" y2="${ly - 4}" stroke="#999" stroke-dasharray="5 4"/><text x="${lx + 240}" y="${ly}">linear ideal lambda*N</text>`);
  if (peakShown) parts.push(`<line x1="${lx + 400}" y1="${ly - 10}" x2="${lx + 400}" y2="${ly + 2}" stroke="#d62728" stroke-dasharray="3 3"/><text x="${lx + 406}" y="${ly}">predicted peak N*</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
