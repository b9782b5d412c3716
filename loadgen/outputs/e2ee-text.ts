// The E2EE block of the text summary (traffic.e2ee; the key-storm scenario's
// figures): prekey bundle fetches and their rate, first-message latency, the
// one-time prekey checks, and the key directory's own counters when the run
// started the system.
import type { E2eeReport } from '../engine/e2ee-report';

const msOr = (v: number | null) => (v === null ? 'n/a' : `${v} ms`);
const ms = (v: number | null) => (v === null ? 'n/a' : v >= 1000 ? `${+(v / 1000).toFixed(2)}s` : `${+v.toFixed(v < 10 ? 2 : 1)}ms`);

export function e2eeLines(r: E2eeReport): string[] {
  const k = r.key_directory;
  const server = k
    ? `    key directory (chat /metrics): ${k.fetches} fetches served${k.fetches === r.key_fetches ? ' (= the generator\'s)' : ` (generator: ${r.key_fetches})`}, ` +
      `${k.prekeys_handed_out} one-time prekeys handed out, ${k.uploads} uploads; per fetch the store's take ${msOr(k.store_ms_per_fetch)} to its result, ` +
      `${msOr(k.store_blocking_ms_per_fetch)} of it holding the chat service's event loop`
    : '    key directory: n/a (the run did not start the system, so its /metrics are not known)';
  return [
    '  E2EE (traffic.e2ee: prekey bundles and new sessions)',
    `    key uploads ${r.key_uploads}, prekey bundle fetches ${r.key_fetches}: ${r.key_fetches_per_s_storm}/s over the ${r.storm_s}s storm ` +
      `(intervals with fetches), peak ${r.key_fetches_per_s_peak}/s, ${r.key_fetches_per_s_window}/s over the window`,
    `    first message to a peer (fetch + session + encrypt -> delivered, decrypted): ${r.first_messages} timed, ` +
      `p(50) ${ms(r.first_message_p50_ms)}, p(99) ${ms(r.first_message_p99_ms)}, max ${ms(r.first_message_max_ms)}`,
    `    ${r.prekeys_reused === 0 && r.decrypt_failed === 0 ? '✓' : '✗'} one-time prekeys handed out twice ${r.prekeys_reused}, ` +
      `bundles without one ${r.bundles_without_prekey}, bodies that did not decrypt ${r.decrypt_failed}`,
    server,
    '',
  ];
}
