// A real Prometheus (Debian's, through scripts/prometheus.sh) with its
// remote-write receiver on a free loopback port and nothing to scrape: every
// series it holds came through `loadgen run --remote-write`. For the remote
// write tests: start, query (instant, and the raw samples of a range
// selector), stop.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../lib/net';
import { REPO_ROOT } from '../../server/common/paths';

const SCRIPT = join(REPO_ROOT, 'scripts', 'prometheus.sh');

export interface QueryResult {
  status: string;
  data?: { result: { metric: Record<string, string>; value: [number, string]; values?: [number, string][] }[] };
}

export interface RemoteWritePrometheus {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The receiver: what --remote-write takes. */
  writeUrl: string;
  query(promql: string): Promise<QueryResult>;
  /** Every raw sample of `selector` in the last `range`, per series: [[epoch s, value], ...]. */
  samples(selector: string, range?: string): Promise<{ metric: Record<string, string>; values: [number, number][] }[]>;
  /** The last sample of each series of `selector`, summed (every shard's share). */
  lastSum(selector: string): Promise<number>;
  stop(): void;
}

export async function startRemoteWritePrometheus(): Promise<RemoteWritePrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-remote-write-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
  const env = { ...process.env, WA_PROM_DIR: join(dir, 'prom'), WA_PROM_PORT: String(port), WA_PROM_CONFIG: join(dir, 'prometheus.yml'), WA_PROM_REMOTE_WRITE: '1' };
  const r = spawnSync('bash', [SCRIPT, 'start'], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`prometheus.sh start: ${r.stdout}${r.stderr}`);
  }
  const query = async (promql: string): Promise<QueryResult> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    return (await res.json()) as QueryResult;
  };
  return {
    url,
    writeUrl: `${url}/api/v1/write`,
    query,
    async samples(selector, range = '10m') {
      const q = await query(`${selector}[${range}]`);
      if (q.status !== 'success') throw new Error(`${selector}: ${JSON.stringify(q)}`);
      return q.data!.result.map((s) => ({ metric: s.metric, values: (s.values ?? []).map(([t, v]) => [t, Number(v)] as [number, number]) }));
    },
    async lastSum(selector) {
      const q = await query(`sum(last_over_time(${selector}[10m]))`);
      if (q.status !== 'success' || q.data!.result.length !== 1) throw new Error(`${selector}: ${JSON.stringify(q)}`);
      return Number(q.data!.result[0]!.value[1]);
    },
    stop() {
      spawnSync('bash', [SCRIPT, 'stop'], { env, encoding: 'utf8' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
