// The Prometheus side, offline: the committed config and rules pass promtool,
// the rules' unit tests pass (known bucket rates -> exact quantiles), and
// every rule reads only metrics some process of ours exports.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { annotationQueries, metricNamesIn, panelQueries, PROMETHEUS_DIR, recordingRules } from './helpers/dashboard-queries';
import { loadgenFamilyNames } from '../loadgen/outputs/metrics-endpoint';
import { REMOTE_WRITE_ONLY_FAMILIES } from '../loadgen/outputs/remote-write-series';

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd: PROMETHEUS_DIR });
  if (r.error) assert.fail(`promtool: ${r.error.message} (install Debian's prometheus: apt-get install -y prometheus, or scripts/prometheus.sh start)`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** What the load generator's /metrics serves (test/prometheus-live.test.ts proves it against a real run). */
const LOADGEN_NAMES = new Set(loadgenFamilyNames());

describe('prometheus config and rules', () => {
  it('promtool check config: the local-topology config (and the rule files it loads)', () => {
    const r = promtool('check', 'config', 'prometheus.yml');
    assert.equal(r.status, 0, r.out);
    assert.doesNotMatch(r.out, /WARNING/, r.out);
    assert.match(r.out, /SUCCESS: 2 rule files found/);
  });

  it('promtool check rules: every rule file', () => {
    const files = readdirSync(join(PROMETHEUS_DIR, 'rules')).filter((f) => f.endsWith('.yml')).map((f) => join('rules', f));
    assert.ok(files.length >= 2);
    const r = promtool('check', 'rules', ...files);
    assert.equal(r.status, 0, r.out);
  });

  it('promtool test rules: quantiles and ratios come out exact from known bucket rates', () => {
    const r = promtool('test', 'rules', 'tests/wa-rules.test.yml');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  it('rules cover P50/P95/P99 of server and client delivery latency, and read only known metric names', () => {
    const rules = recordingRules();
    const records = new Set(rules.map((r) => r.record));
    for (const who of ['gateway', 'loadgen']) {
      for (const q of ['p50', 'p95', 'p99']) assert.ok(records.has(`job:wa_${who}_delivery_latency_seconds:${q}_rate1m`), `${who} ${q}`);
    }
    assert.equal(records.size, rules.length, 'record names are unique');
    for (const r of rules) {
      assert.match(r.record, /^[a-z]+:[a-z0-9_]+:[a-z0-9_]+$/, `${r.record}: level:metric:operations`);
      for (const name of metricNamesIn(r.expr)) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        if (base.startsWith('wa_loadgen_')) assert.ok(LOADGEN_NAMES.has(base), `${r.record}: ${name} is not a metric the load generator exports`);
      }
    }
  });

  it('every load-generator name a dashboard panel reads is one the load generator exports', () => {
    let seen = 0;
    for (const q of panelQueries()) {
      for (const name of metricNamesIn(q.promql).filter((n) => n.startsWith('wa_loadgen_'))) {
        seen++;
        assert.ok(LOADGEN_NAMES.has(name.replace(/_(bucket|sum|count)$/, '')), `${q.dashboard} / ${q.panel}: ${name}`);
      }
    }
    assert.ok(seen >= 10, `${seen} load-generator names in panels`);
  });

  it('every load-generator name a dashboard annotation reads is one remote write pushes (phases, fault windows)', () => {
    const names = annotationQueries().flatMap((q) => metricNamesIn(q.promql).map((n) => [q.panel, n] as const));
    assert.deepEqual(names.map(([, n]) => n).sort(), ['wa_loadgen_executor_active', 'wa_loadgen_fault_active']);
    for (const [panel, n] of names) assert.ok(REMOTE_WRITE_ONLY_FAMILIES.includes(n), `${panel}: ${n}`);
  });
});
