// Units and their printing. Everything in the capacity model is computed in
// base units (B, B/s, bit/s, 1/s) and only turned into "11.6 GB/s" here.
// Decimal prefixes throughout, as the seed's own arithmetic uses them.

export const SECONDS_PER_HOUR = 3_600;
export const SECONDS_PER_DAY = 86_400;
export const DAYS_PER_YEAR = 365;
export const BITS_PER_BYTE = 8;
export const BYTES_PER_GIB = 2 ** 30;

const PREFIXES: ReadonlyArray<[number, string]> = [
  [1e18, 'E'],
  [1e15, 'P'],
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/** 3 significant digits: 1157407 -> "1.16", 0.0123 -> "0.0123". */
export function formatNumber(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : value < 0 ? '-inf' : 'n/a';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  return String(Number(value.toPrecision(digits)));
}

/** Decimal SI prefix: 1.157e6 "msgs/s" -> "1.16M msgs/s"; bytes: 1e13 "B" -> "10 TB". */
export function formatSi(value: number, unit: string, digits = 3): string {
  if (!Number.isFinite(value)) return `${formatNumber(value)} ${unit}`.trim();
  const abs = Math.abs(value);
  for (const [scale, prefix] of PREFIXES) {
    if (abs >= scale) {
      const scaled = Number((value / scale).toPrecision(digits));
      const glue = unit === 'B' || unit.startsWith('B/') || unit.startsWith('bit') ? ` ${prefix}` : `${prefix} `;
      return `${scaled}${glue}${unit}`.trim();
    }
  }
  return `${formatNumber(value, digits)} ${unit}`.trim();
}

export const formatBytes = (bytes: number): string => formatSi(bytes, 'B');
export const formatBytesPerS = (bytesPerS: number): string => formatSi(bytesPerS, 'B/s');
export const formatBitsPerS = (bitsPerS: number): string => formatSi(bitsPerS, 'bit/s');
export const formatPerS = (perS: number, what: string): string => formatSi(perS, `${what}/s`);

export function formatPercent(share: number, digits = 2): string {
  return `${Number((share * 100).toPrecision(digits + 1))}%`;
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'never';
  if (seconds < 1) return `${Number((seconds * 1000).toPrecision(3))} ms`;
  if (seconds < 120) return `${Number(seconds.toPrecision(3))} s`;
  if (seconds < 7_200) return `${Number((seconds / 60).toPrecision(3))} min`;
  return `${Number((seconds / 3_600).toPrecision(3))} h`;
}

/** A value in the unit the report carries it in: "B/day" -> "10 TB/day", "msgs/s" -> "1.16M msgs/s". */
export function formatValue(value: number, unit: string): string {
  if (Number.isNaN(value)) return 'not measured';
  if (unit === 'B') return formatBytes(value);
  if (unit === 'B/s') return formatBytesPerS(value);
  if (unit.startsWith('B/')) return `${formatBytes(value)}/${unit.slice(2)}`;
  if (unit === 'bit/s') return formatBitsPerS(value);
  return formatSi(value, unit);
}
