// Proof against live data: a real system runs a short load while a real
// Prometheus (Debian's, started by scripts/prometheus.sh with our rules)
// scrapes the gateway, the chat service and the load generator every second.
// Then EVERY panel query of every dashboard and EVERY recording rule is
// evaluated through Prometheus's HTTP API: an error or an empty result fails.
//
// The load is the load generator's own CLI (`loadgen run smoke`) with its
// /metrics endpoint. Panels reading load-generator metric names it does not
// export (yet) are skipped with a note naming the missing metrics; if the CLI
// cannot run at all, the in-process 1:1 engine drives the load instead and
// every wa_loadgen_* query is skipped with that note.
//
// The system's targets reach Prometheus through file_sd files written by the
// launcher (WA_PROM_SD_DIR), the path `make prometheus` + `make run` uses.
// Every query and its result is written to results/<run-id>/prometheus-queries.json.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemDriver } from '../loadgen/drivers/system-driver';
import { runPairLoad } from '../loadgen/pair-load';
import { DIST_DIR, REPO_ROOT } from '../server/common/paths';
import { startSystem, waitFor, type RunningSystem } from '../server/launcher';
import { metricNamesIn, panelQueries, recordingRules } from '../server/metrics/dashboard-queries';

const SCRAPE_INTERVAL = '1s';
/** $__rate_interval for the panels: Grafana uses >= 4 scrape intervals. */
const RATE_INTERVAL = '5s';
const LOAD_DURATION_S = 10;
const SCRAPES_WITH_TRAFFIC_MIN = 5;

interface QueryResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function lineFrom(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<RegExpExecArray | null> {
  return new Promise((resolve) => {
    let buf = '';
    const done = (m: RegExpExecArray | null) => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      resolve(m);
    };
    const onData = (chunk: Buffer) => {
      buf += chunk.toString();
      const m = re.exec(buf);
      if (m) done(m);
    };
    const onExit = () => done(null);
    const timer = setTimeout(() => done(null), timeoutMs);
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

describe('dashboards and rules against a live Prometheus', { timeout: 110_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-prom-live-'));
  const promDir = join(dir, 'prometheus');
  const sdDir = join(dir, 'sd');
  const script = join(REPO_ROOT, 'scripts', 'prometheus.sh');
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-prometheus-live`;
  const evidence: { kind: string; name: string; promql: string; status: string; series: number; sample?: unknown; skipped?: string }[] = [];
  let promUrl = '';
  let promEnv: NodeJS.ProcessEnv = {};
  let promStarted = false;
  let sys: RunningSystem | null = null;
  let loadgen: ChildProcess | null = null;
  let inProcessLoad: Promise<unknown> | null = null;
  /** wa_loadgen_* families present in Prometheus. */
  let loadgenNames = new Set<string>();
  let loadgenNote = '';

  async function query(promql: string): Promise<QueryResult> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    return (await res.json()) as QueryResult;
  }

  async function scalar(promql: string): Promise<number> {
    const r = await query(promql);
    return r.status === 'success' && r.data!.result.length > 0 ? Number(r.data!.result[0]!.value[1]) : NaN;
  }

  before(async () => {
    process.env.WA_PROM_SD_DIR = sdDir;
    sys = await startSystem({});

    // The load generator against this system, with its /metrics.
    const cli = join(DIST_DIR, 'loadgen', 'cli.js');
    let loadgenTarget = '';
    if (existsSync(cli)) {
      loadgen = spawn(process.execPath, [cli, 'run', 'smoke', '--target', sys.gatewayUrl, '--chat-target', sys.chatTarget,
        '--secret', sys.secret, '--duration', `${LOAD_DURATION_S}s`, '--metrics-port', '0', '--quiet', '--out', join(dir, 'loadgen')],
      { stdio: ['ignore', 'pipe', 'pipe'] });
      const m = await lineFrom(loadgen, /metrics: http:\/\/(127\.0\.0\.1:\d+)\/metrics/, 30_000);
      if (m) loadgenTarget = m[1]!;
      else {
        loadgenNote = 'the load generator CLI did not expose /metrics';
        if (loadgen.exitCode === null) loadgen.kill('SIGINT');
        loadgen = null;
      }
    } else {
      loadgenNote = `no ${cli}`;
    }
    if (!loadgenTarget) {
      inProcessLoad = runPairLoad(new SystemDriver({ url: sys.gatewayUrl, secret: sys.secret, userBase: Date.now() % 1_000_000_000 }), {
        users: 40, stages: [{ rate: 500, durationS: LOAD_DURATION_S }], graceMs: 1000,
      });
    }

    // Prometheus: 1 s scrapes, our rule files, the system via file_sd, the load generator static.
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const config = [
      'global:',
      `  scrape_interval: ${SCRAPE_INTERVAL}`,
      `  scrape_timeout: ${SCRAPE_INTERVAL}`,
      `  evaluation_interval: ${SCRAPE_INTERVAL}`,
      'rule_files:',
      '  - rules/*.yml',
      'scrape_configs:',
      '  - job_name: wa-gateway',
      '    file_sd_configs:',
      `      - files: ['${join(sdDir, 'wa-gateway', '*.json')}']`,
      '        refresh_interval: 1s',
      '  - job_name: wa-chat',
      '    file_sd_configs:',
      `      - files: ['${join(sdDir, 'wa-chat', '*.json')}']`,
      '        refresh_interval: 1s',
      ...(loadgenTarget ? ['  - job_name: wa-loadgen', '    static_configs:', `      - targets: ['${loadgenTarget}']`] : []),
    ].join('\n');
    writeFileSync(join(dir, 'prometheus-test.yml'), `${config}\n`);
    promEnv = { ...process.env, WA_PROM_DIR: promDir, WA_PROM_PORT: String(port), WA_PROM_CONFIG: join(dir, 'prometheus-test.yml') };
    const started = spawnSync('bash', [script, 'start'], { env: promEnv, encoding: 'utf8' });
    assert.equal(started.status, 0, `scripts/prometheus.sh start: ${started.stdout}${started.stderr}`);
    promStarted = true;

    const jobs = loadgenTarget ? ['wa-gateway', 'wa-chat', 'wa-loadgen'] : ['wa-gateway', 'wa-chat'];
    await waitFor(async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } };
      return jobs.every((j) => r.data.activeTargets.some((t) => t.labels.job === j && t.health === 'up'));
    }, 20_000, `every target up (${jobs.join(', ')})`);
    // Enough scrapes while messages flow for rates, quantiles and the rules' [1m] windows.
    await waitFor(async () => (await scalar(`count_over_time(wa_chat_messages_stored_total{kind="direct"}[1m])`)) >= SCRAPES_WITH_TRAFFIC_MIN &&
      (await scalar(`sum(increase(wa_gateway_delivery_latency_seconds_count[${RATE_INTERVAL}]))`)) > 0, 30_000, 'scrapes with traffic');
    if (loadgenTarget) {
      await waitFor(async () => (await scalar('count(up{job="wa-loadgen"} == 1)')) === 1 &&
        (await scalar('count_over_time(up{job="wa-loadgen"}[1m])')) >= SCRAPES_WITH_TRAFFIC_MIN, 15_000, 'load generator scrapes');
      const r = await query('group by (__name__) ({__name__=~"wa_loadgen_.+"})');
      loadgenNames = new Set((r.data?.result ?? []).map((s) => s.metric.__name__!));
      if (loadgenNames.size === 0) loadgenNote = 'the load generator\'s /metrics has no wa_loadgen_* metric yet';
    }
  });

  after(async () => {
    if (promStarted) {
      const stopped = spawnSync('bash', [script, 'stop'], { env: promEnv, encoding: 'utf8' });
      assert.equal(stopped.status, 0, `scripts/prometheus.sh stop: ${stopped.stdout}${stopped.stderr}`);
    }
    if (loadgen && loadgen.exitCode === null && loadgen.signalCode === null) {
      // Let it finish its run (it stops by itself); interrupt only if it overstays.
      const exited = new Promise((r) => loadgen!.once('exit', r));
      const timer = setTimeout(() => loadgen?.kill('SIGINT'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await inProcessLoad?.catch(() => {});
    await sys?.stop();
    delete process.env.WA_PROM_SD_DIR;
    const out = join(REPO_ROOT, 'results', runId);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'prometheus-queries.json'), JSON.stringify({
      run_id: runId, scrape_interval: SCRAPE_INTERVAL, rate_interval: RATE_INTERVAL, loadgen_note: loadgenNote || null,
      loadgen_metrics: [...loadgenNames].sort(), queries: evidence,
    }, null, 2));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Skip reason when the query reads load-generator metrics that are not there. */
  function loadgenSkip(promql: string): string | null {
    const wanted = metricNamesIn(promql).filter((n) => n.startsWith('wa_loadgen_'));
    if (wanted.length === 0) return null;
    const missing = wanted.filter((n) => !loadgenNames.has(n));
    if (missing.length === 0) return null;
    return `load generator does not export ${missing.join(', ')}${loadgenNote ? ` (${loadgenNote})` : ''}`;
  }

  async function expectSeries(kind: string, name: string, promql: string, t: { skip: (m: string) => void; diagnostic: (m: string) => void }) {
    const skip = loadgenSkip(promql);
    if (skip) {
      evidence.push({ kind, name, promql, status: 'skipped', series: 0, skipped: skip });
      t.skip(skip);
      return;
    }
    const r = await query(promql);
    const series = r.data?.result.length ?? 0;
    evidence.push({ kind, name, promql, status: r.status, series, sample: r.data?.result.slice(0, 3) });
    assert.equal(r.status, 'success', `${name}: ${promql}: ${r.error ?? ''}`);
    assert.ok(series > 0, `${name}: no series for ${promql}`);
  }

  it('the headline numbers are plausible while the load runs', async () => {
    const p99 = await scalar(`histogram_quantile(0.99, sum by (le) (rate(wa_gateway_delivery_latency_seconds_bucket[${RATE_INTERVAL}])))`);
    assert.ok(Number.isFinite(p99) && p99 > 0 && p99 < 10, `server p99 ${p99}`);
    assert.ok((await scalar('sum(wa_gateway_connections)')) > 0, 'connections open');
    assert.ok((await scalar(`sum(rate(wa_chat_messages_stored_total[${RATE_INTERVAL}]))`)) > 0, 'messages stored/s');
  });

  describe('every panel query returns series', () => {
    for (const q of panelQueries(RATE_INTERVAL)) {
      it(`${q.dashboard} / ${q.panel} [${q.refId}]`, async (t) => expectSeries('panel', `${q.dashboard} / ${q.panel} [${q.refId}]`, q.promql, t));
    }
  });

  describe('every recording rule evaluates to series, and Prometheus records it', () => {
    for (const r of recordingRules()) {
      it(r.record, async (t) => {
        await expectSeries('rule', r.record, r.expr, t);
        if (loadgenSkip(r.expr)) return;
        await waitFor(async () => (await query(r.record)).data!.result.length > 0, 5_000, `${r.record} recorded by the rule group`);
      });
    }
    it('rule groups evaluate without errors', async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as {
        data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] };
      };
      assert.ok(r.data.groups.length >= 5);
      for (const g of r.data.groups) for (const rule of g.rules) assert.notEqual(rule.health, 'err', `${g.name} ${rule.name}: ${rule.lastError}`);
    });
  });

});
