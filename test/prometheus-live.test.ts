// Proof against live data: a real system runs a short load while a real
// Prometheus (Debian's, started by scripts/prometheus.sh with our rules)
// scrapes the gateway, the chat service and the load generator every second.
// Then EVERY panel query of every dashboard and EVERY recording rule is
// evaluated through Prometheus's HTTP API: an error or an empty result fails.
//
// The load is the load generator's own CLI (`loadgen run smoke`) with its
// /metrics endpoint. Every process finds its way into Prometheus the way
// `make prometheus` + `make run` does: file_sd files under WA_PROM_SD_DIR,
// written by the launcher (gateways, chat service) and by the load generator
// itself, which removes its file when it exits. Queries are evaluated at one
// instant while the load runs (the API's `time` parameter), so a query made
// after the load generator exits still sees the run.
// Every query and its result is written to results/<run-id>/prometheus-queries.json.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST_DIR, REPO_ROOT } from '../server/common/paths';
import { startSystem, waitFor, type RunningSystem } from '../deploy/local-system';
import { panelQueries, recordingRules } from './helpers/dashboard-queries';
import { freePort } from '../lib/net';

const SCRAPE_INTERVAL = '1s';
/** $__rate_interval for the panels: Grafana uses >= 4 scrape intervals. */
const RATE_INTERVAL = '5s';
const LOAD_DURATION_S = 12;
/** After enough scrapes, let the rule groups evaluate on them before fixing the query instant. */
const RULES_SETTLE_MS = 2500;
const SCRAPES_WITH_TRAFFIC_MIN = 5;

interface QueryResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
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

describe('dashboards and rules against a live Prometheus', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-prom-live-'));
  const promDir = join(dir, 'prometheus');
  const sdDir = join(dir, 'sd');
  const script = join(REPO_ROOT, 'scripts', 'prometheus.sh');
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-prometheus-live`;
  const evidence: { kind: string; name: string; promql: string; status: string; series: number; sample?: unknown }[] = [];
  let promUrl = '';
  let promEnv: NodeJS.ProcessEnv = {};
  let promStarted = false;
  let sys: RunningSystem | null = null;
  let loadgen: ChildProcess | null = null;
  let loadgenExit: Promise<number> | null = null;
  /** The load generator's file_sd file while it ran. */
  let loadgenSdFiles: string[] = [];
  /** wa_loadgen_* families present in Prometheus. */
  let loadgenNames: string[] = [];
  /** Unix seconds: every query is evaluated at this instant, while the load ran. */
  let at = 0;

  async function query(promql: string, time = at): Promise<QueryResult> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}${time ? `&time=${time}` : ''}`);
    return (await res.json()) as QueryResult;
  }

  async function scalar(promql: string, time = at): Promise<number> {
    const r = await query(promql, time);
    return r.status === 'success' && r.data!.result.length > 0 ? Number(r.data!.result[0]!.value[1]) : NaN;
  }

  before(async () => {
    // Prometheus first: 1 s scrapes, our rule files, every job from file_sd.
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const jobs = ['wa-gateway', 'wa-chat', 'wa-loadgen'];
    const config = [
      'global:',
      `  scrape_interval: ${SCRAPE_INTERVAL}`,
      `  scrape_timeout: ${SCRAPE_INTERVAL}`,
      `  evaluation_interval: ${SCRAPE_INTERVAL}`,
      'rule_files:',
      '  - rules/*.yml',
      'scrape_configs:',
      ...jobs.flatMap((job) => [
        `  - job_name: ${job}`,
        '    file_sd_configs:',
        `      - files: ['${join(sdDir, job, '*.json')}']`,
        '        refresh_interval: 1s',
      ]),
    ].join('\n');
    writeFileSync(join(dir, 'prometheus-test.yml'), `${config}\n`);
    promEnv = { ...process.env, WA_PROM_DIR: promDir, WA_PROM_PORT: String(port), WA_PROM_CONFIG: join(dir, 'prometheus-test.yml') };
    const started = spawnSync('bash', [script, 'start'], { env: promEnv, encoding: 'utf8' });
    assert.equal(started.status, 0, `scripts/prometheus.sh start: ${started.stdout}${started.stderr}`);
    promStarted = true;

    // The system and the load generator register themselves (WA_PROM_SD_DIR).
    process.env.WA_PROM_SD_DIR = sdDir;
    sys = await startSystem({});
    const cli = join(DIST_DIR, 'loadgen', 'commands', 'cli.js');
    assert.ok(existsSync(cli), `no ${cli}: build first`);
    loadgen = spawn(process.execPath, [cli, 'run', 'smoke', '--target', sys.gatewayUrl, '--chat-target', sys.chatTarget,
      `--secret=${sys.secret}`, '--duration', `${LOAD_DURATION_S}s`, '--metrics-port', '0', '--quiet', '--out', join(dir, 'loadgen')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WA_PROM_SD_DIR: sdDir } });
    const lg = loadgen;
    loadgenExit = new Promise((resolve) => lg.once('exit', (code) => resolve(code ?? -1)));
    const m = await lineFrom(loadgen, /metrics: http:\/\/127\.0\.0\.1:\d+\/metrics \(Prometheus file_sd: ([^)]+)\)/, 30_000);
    assert.ok(m, 'the load generator serves /metrics and registers it for file_sd');
    loadgenSdFiles = readdirSync(join(sdDir, 'wa-loadgen')).map((f) => join(sdDir, 'wa-loadgen', f));
    assert.deepEqual(loadgenSdFiles, [m[1]]);

    await waitFor(async () => {
      const r = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: { job: string }; health: string }[] } };
      return jobs.every((j) => r.data.activeTargets.some((t) => t.labels.job === j && t.health === 'up'));
    }, 20_000, `every target up (${jobs.join(', ')})`);
    // Enough scrapes while messages flow for rates, quantiles and the rules' [1m] windows.
    await waitFor(async () => (await scalar(`count_over_time(wa_chat_messages_stored_total{kind="direct"}[1m])`, 0)) >= SCRAPES_WITH_TRAFFIC_MIN &&
      (await scalar(`sum(increase(wa_gateway_delivery_latency_seconds_count[${RATE_INTERVAL}]))`, 0)) > 0 &&
      (await scalar('count_over_time(up{job="wa-loadgen"}[1m])', 0)) >= SCRAPES_WITH_TRAFFIC_MIN &&
      (await scalar(`sum(increase(wa_loadgen_messages_delivered_total[${RATE_INTERVAL}]))`, 0)) > 0, 30_000, 'scrapes with traffic');
    await new Promise((r) => setTimeout(r, RULES_SETTLE_MS));
    at = Date.now() / 1000;
    assert.equal(loadgen.exitCode, null, `the load (${LOAD_DURATION_S}s) still runs at the query instant: make LOAD_DURATION_S longer`);
    const r = await query('group by (__name__) ({__name__=~"wa_loadgen_.+"})');
    loadgenNames = (r.data?.result ?? []).map((x) => x.metric.__name__!).sort();
  });

  after(async () => {
    if (promStarted) {
      const stopped = spawnSync('bash', [script, 'stop'], { env: promEnv, encoding: 'utf8' });
      assert.equal(stopped.status, 0, `scripts/prometheus.sh stop: ${stopped.stdout}${stopped.stderr}`);
    }
    if (loadgen && loadgen.exitCode === null && loadgen.signalCode === null) {
      // Let it finish its run (it stops by itself); interrupt only if it overstays.
      const timer = setTimeout(() => loadgen?.kill('SIGINT'), 30_000);
      await loadgenExit;
      clearTimeout(timer);
    }
    await sys?.stop();
    delete process.env.WA_PROM_SD_DIR;
    const out = join(REPO_ROOT, 'results', runId);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'prometheus-queries.json'), JSON.stringify({
      run_id: runId, scrape_interval: SCRAPE_INTERVAL, rate_interval: RATE_INTERVAL, evaluated_at: new Date(at * 1000).toISOString(),
      loadgen_metrics: loadgenNames, queries: evidence,
    }, null, 2));
    rmSync(dir, { recursive: true, force: true });
  });

  async function expectSeries(kind: string, name: string, promql: string) {
    const r = await query(promql);
    const series = r.data?.result.length ?? 0;
    evidence.push({ kind, name, promql, status: r.status, series, sample: r.data?.result.slice(0, 3) });
    assert.equal(r.status, 'success', `${name}: ${promql}: ${r.error ?? ''}`);
    assert.ok(series > 0, `${name}: no series for ${promql}`);
  }

  it('the headline numbers are plausible while the load runs', async () => {
    const p99 = await scalar(`histogram_quantile(0.99, sum by (le) (rate(wa_gateway_delivery_latency_seconds_bucket[${RATE_INTERVAL}])))`);
    assert.ok(Number.isFinite(p99) && p99 > 0 && p99 < 10, `server p99 ${p99}`);
    const clientP99 = await scalar(`histogram_quantile(0.99, sum by (le) (rate(wa_loadgen_delivery_latency_seconds_bucket[${RATE_INTERVAL}])))`);
    assert.ok(Number.isFinite(clientP99) && clientP99 > 0 && clientP99 < 10, `client p99 ${clientP99}`);
    assert.ok((await scalar('sum(wa_gateway_connections)')) > 0, 'connections open');
    assert.equal(await scalar('sum(wa_loadgen_connections)'), 200, 'the smoke scenario\'s 200 users are connected');
    assert.ok((await scalar(`sum(rate(wa_chat_messages_stored_total[${RATE_INTERVAL}]))`)) > 0, 'messages stored/s');
    const achieved = await scalar(`sum(rate(wa_loadgen_messages_sent_total[${RATE_INTERVAL}])) / sum(rate(wa_loadgen_messages_scheduled_total[${RATE_INTERVAL}]))`);
    assert.ok(achieved > 0.5 && achieved < 1.5, `achieved / scheduled ${achieved}`);
  });

  describe('every panel query returns series', () => {
    for (const q of panelQueries(RATE_INTERVAL)) {
      it(`${q.dashboard} / ${q.panel} [${q.refId}]`, async () => expectSeries('panel', `${q.dashboard} / ${q.panel} [${q.refId}]`, q.promql));
    }
  });

  describe('every recording rule evaluates to series, and Prometheus records it', () => {
    for (const r of recordingRules()) {
      it(r.record, async () => {
        await expectSeries('rule', r.record, r.expr);
        const recorded = await query(r.record);
        assert.ok((recorded.data?.result.length ?? 0) > 0, `${r.record} recorded by the rule group by ${new Date(at * 1000).toISOString()}`);
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

  it('the load generator removes its file_sd target when it exits', async () => {
    assert.equal(loadgenSdFiles.length, 1);
    const code = await loadgenExit!;
    assert.ok(code === 0 || code === 99, `loadgen exited ${code}`);
    assert.equal(existsSync(loadgenSdFiles[0]!), false, `${loadgenSdFiles[0]} removed`);
  });
});
