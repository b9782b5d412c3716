// The CONNECTIONS block of summary.txt (connect-ramp): connects/s, the connect
// accounting, and per side what holding the connections costs.
import type { ConnectionReport, SideCost } from '../engine/connection-report';

export function connectionLines(r: ConnectionReport): string[] {
  const reasons = Object.entries(r.failed_by_reason).map(([k, n]) => `${k} ${n}`).join(', ');
  const q = (x: { p50: number; p99: number; max: number } | null) => (x ? `p(50) ${x.p50}ms p(99) ${x.p99}ms max ${x.max}ms` : 'n/a');
  return [
    '  CONNECTIONS (connects through the whole system: upgrade + token check, session, DrainDone)',
    `    ${r.adds_up ? '✓' : '✗'} attempted ${r.attempted} = ok ${r.ok} + failed ${r.failed}${reasons ? ` (${reasons})` : ''}; ` +
      `dropped by the ramp ${r.dropped} (never tried); held ${r.held} of ${r.users} users${r.adds_up ? '' : '  DOES NOT ADD UP'}`,
    `    connects/s: ${r.connects_per_s_avg ?? 'n/a'} avg (first connect -> last DrainDone), ${r.connects_per_s_peak} best interval`,
    `    connect (TCP + upgrade): ${q(r.connect_time_ms)}; to DrainDone: ${q(r.drain_time_ms)}`,
    `    holding ${r.held} idle over ${r.hold.intervals} s (${r.hold.start_s}s-${r.hold.end_s}s):`,
    `      generator ${side(r.loadgen)}`,
    `      gateways  ${side(r.gateways)}`,
    `      chat      ${side(r.chat)}`,
    '',
  ];
}

function side(c: SideCost): string {
  const mem = c.bytes_per_connection === null ? 'memory n/a' : `${c.bytes_per_connection} B/connection (RSS ${mib(c.rss_start_bytes)} -> ${mib(c.rss_connected_bytes)} all open, ${mib(c.rss_held_bytes)} end of hold` +
    `${c.bytes_per_connection <= 0 ? ': too few connections to see past the RSS noise' : ''})`;
  const cpu = c.idle_cpu_percent === null ? 'idle cpu n/a' : `idle cpu ${c.idle_cpu_percent}% of a core = ${c.idle_cpu_percent_per_10k}% per 10k connections`;
  return `${mem}; ${cpu}`;
}

function mib(b: number | null): string {
  return b === null ? 'n/a' : `${(b / 2 ** 20).toFixed(0)} MiB`;
}
