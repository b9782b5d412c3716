// The MEDIA block of the text summary (traffic.mediaShare > 0): the media
// accounting with its check, bytes and their rate, and media_latency.
import type { MediaReport } from '../engine/media-report';

const list = (r: Record<string, number>) => Object.entries(r).map(([k, n]) => `${k} ${n}`).join(', ');
const ms = (v: number | null) => (v === null ? 'n/a' : v >= 1000 ? `${+(v / 1000).toFixed(2)}s` : `${+v.toFixed(v < 10 ? 2 : 1)}ms`);
const mb = (bytes: number) => `${+(bytes / 1e6).toFixed(2)} MB`;

export function mediaLines(m: MediaReport): string[] {
  const failed = list(m.failed_by_reason);
  const queued = list(m.queued_by_stage);
  return [
    '  MEDIA (every scheduled media send, one outcome each)',
    `    ${m.adds_up ? '✓' : '✗'} scheduled ${m.scheduled} = verified ${m.verified} + failed ${m.failed}${failed ? ` (${failed})` : ''} + ` +
      `dropped ${m.dropped} + queued at the end ${m.queued_at_end}${queued ? ` (${queued})` : ''}${m.adds_up ? '' : '  DOES NOT ADD UP'}`,
    `    uploaded ${m.uploaded}: ${mb(m.bytes_up)} up (${m.up_mb_per_s.toFixed(2)} MB/s), ${mb(m.bytes_down)} down (${m.down_mb_per_s.toFixed(2)} MB/s)`,
    `    scheduled -> downloaded and verified: p(50) ${ms(m.latency_p50_ms)}, p(99) ${ms(m.latency_p99_ms)}, max ${ms(m.latency_max_ms)}`,
    '',
  ];
}
