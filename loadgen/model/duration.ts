// k6 duration strings ("30s", "1m30s", "500ms", "1h", "1.5s") to milliseconds.
// A bare number is milliseconds, as in k6's JavaScript options.

import { describeValue } from '../../lib/shape';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

export function parseDurationMs(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${what}: ${value} is not a non-negative number of milliseconds`);
    return value;
  }
  if (typeof value !== 'string') throw new Error(`${what}: expected a duration string like 30s or a number of ms, got ${describeValue(value)}`);
  const text = value.trim();
  if (text === '' ) throw new Error(`${what}: empty duration`);
  if (text === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (!m) throw new Error(`${what}: "${value}" is not a duration like 500ms, 30s, 1m30s, 2h`);
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART.lastIndex;
  }
  return total;
}

/** 93500 -> "1m33.5s" (k6's style), 250 -> "250ms". */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.round(((ms % 60_000) / 1000) * 10) / 10;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s || !(h || m) ? `${s}s` : ''}`;
}
