// The key directory's side of an e2ee run (key-storm): the chat service's own
// counters read from its /metrics at the start and at the end of the measured
// window, so the summary can show fetches served, prekeys handed out and the
// store's time per fetch beside what the generator counted. Only for a system
// the run started (their /metrics ports are known); summed over chat nodes.
// Two scrapes per run: nothing on the hot path.
import type { LocalTarget } from './local-target';
import type { KeyDirectoryFigures } from './e2ee-report';

const SCRAPE_TIMEOUT_MS = 5_000;

const FAMILIES = {
  fetches: 'wa_chat_key_fetches_total',
  handedOut: 'wa_chat_prekeys_handed_out_total',
  uploads: 'wa_chat_key_uploads_total',
  storeSeconds: 'wa_chat_key_fetch_store_seconds_total',
  blockingSeconds: 'wa_chat_key_fetch_store_blocking_seconds_total',
} as const;

type Reading = Record<keyof typeof FAMILIES, number>;

/** The chat service /metrics URLs of a system the run started: the single process's, or every chat node's of a topology. */
export function chatMetricsUrls(local: LocalTarget): string[] {
  if (local.singleProcess) return [local.singleProcess.metricsUrls().chat];
  return local.topology ? local.topology.chatMetricsPorts.map((p) => `http://127.0.0.1:${p}/metrics`) : [];
}

/** An unlabelled sample's value in Prometheus text (0 when absent: a family with no samples yet). */
export function sampleValue(text: string, name: string): number {
  const m = new RegExp(`^${name} ([^\\s]+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function read(urls: readonly string[]): Promise<Reading> {
  const sum: Reading = { fetches: 0, handedOut: 0, uploads: 0, storeSeconds: 0, blockingSeconds: 0 };
  for (const url of urls) {
    const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
    const text = await res.text();
    for (const k of Object.keys(FAMILIES) as (keyof Reading)[]) sum[k] += sampleValue(text, FAMILIES[k]);
  }
  return sum;
}

export class KeyDirectoryProbe {
  private constructor(private readonly urls: readonly string[], private readonly start: Reading) {}

  /** Read the counters now (the start of the measured window). */
  static async open(urls: readonly string[]): Promise<KeyDirectoryProbe> {
    return new KeyDirectoryProbe(urls, await read(urls));
  }

  /** The counters' increase since open(). A chat node restarted meanwhile (a fault) starts from 0: then the figures undercount. */
  async figures(): Promise<KeyDirectoryFigures> {
    const end = await read(this.urls);
    const d = (k: keyof Reading) => Math.max(0, end[k] - this.start[k]);
    const fetches = d('fetches');
    const perFetchMs = (k: keyof Reading) => (fetches > 0 ? Math.round((d(k) / fetches) * 1e6) / 1000 : null);
    return {
      fetches, prekeys_handed_out: d('handedOut'), uploads: d('uploads'),
      store_ms_per_fetch: perFetchMs('storeSeconds'), store_blocking_ms_per_fetch: perFetchMs('blockingSeconds'),
    };
  }
}
