// Merging is lossless: samples recorded by two shards (through the same path
// a run takes: worker registry -> interval snapshots -> coordinator aggregate
// -> summary.json) merge into exactly the percentiles of one run that
// recorded every sample, and those match the exact sorted-sample percentiles
// within HDR's 3 significant digits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricsRegistry } from '../loadgen/metrics/registry';
import { MetricsAggregate } from '../loadgen/metrics/aggregate';
import { finishSummary, machineInfo, SUMMARY_VERSION, type RunSummary } from '../loadgen/engine/summary';
import { intervalRecord, type IntervalRecord } from '../loadgen/engine/timeline';
import { planRun } from '../loadgen/model/plan';
import { mergeSummaries } from '../loadgen/engine/merge';
import { Rng } from '../loadgen/model/distribution';
import { DEFAULT_TRAFFIC, type Scenario } from '../loadgen/model/scenario';

const scenario: Scenario = {
  name: 'merge', description: 'merge test', production: { users: 2e9, messagesPerSecond: 1.16e6, notes: '' }, scale: { factor: 1e-6, basis: '' },
  traffic: { ...DEFAULT_TRAFFIC, users: 100 },
  options: {
    scenarios: { chat: { executor: 'constant-arrival-rate', rate: 1000, duration: '5s', preAllocatedVUs: 10 } },
    thresholds: { delivery_latency: ['p(99)<50'], delivery_lost: ['count==0'] },
  },
};
const INTERVALS = 5;
const INTERVAL_MS = 1000;

/** A shard's run from its samples: 2 worker registries, one snapshot per interval each. */
function shardSummary(shard: number, samplesPerInterval: number[][][]): RunSummary {
  const plan = planRun(scenario);
  const regs = [new MetricsRegistry(['chat']), new MetricsRegistry(['chat'])];
  const agg = new MetricsAggregate();
  const timeline: IntervalRecord[] = [];
  for (let i = 0; i < INTERVALS; i++) {
    const snaps = regs.map((reg, w) => {
      for (const v of samplesPerInterval[i]![w]!) {
        reg.trend.delivery_latency.record(v, 0);
        reg.counter.messages_delivered.add(1, 0);
      }
      return reg.takeSnapshot();
    });
    for (const snap of snaps) agg.addSnapshot(snap);
    timeline.push(intervalRecord(i, INTERVAL_MS, snaps));
  }
  agg.durationMs = INTERVALS * INTERVAL_MS;
  const s = finishSummary({
    version: SUMMARY_VERSION, run_id: `shard${shard}`,
    scenario: { name: scenario.name, file: 'test', description: '', production: scenario.production, scale: { factor: 1e-6, basis: '', multiplier: 1 } },
    plan, thresholds_spec: scenario.options.thresholds!, breakpoint_spec: null, command: 'test', machine: machineInfo(),
    started_at: new Date(0).toISOString(), shards: [{ index: shard, count: 2 }], workers: 2, interval_ms: INTERVAL_MS,
    target: { driver: 'bare', urls: [], started_by_loadgen: false, transport: 'lean' },
    phases: { setup_ms: 0, measured_ms: INTERVALS * INTERVAL_MS, grace_ms: 0, teardown_ms: 0 },
    setup: { connected: 0, failed: 0, connect_time: null }, aborted: null, timeline,
    loadgen: { cpu_percent_avg: 0, busiest_thread_cpu_percent_max: 0, warnings: [] }, system: null,
  }, agg, { firstReconnectMs: -1, lastDrainDoneMs: -1 });
  // Through JSON, as `loadgen merge` reads it from disk.
  return JSON.parse(JSON.stringify(s)) as RunSummary;
}

function exactPercentile(sorted: number[], p: number): number {
  // HDR's definition: the smallest value with at least p% of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

describe('merging shards', () => {
  test('two shards merge to the same percentiles as one run holding all samples, and to the exact ones within 0.1%', () => {
    const rng = new Rng(42);
    // A long-tailed latency: mostly 1-20 ms, some 100s of ms, a few seconds.
    const draw = () => {
      const x = rng.next();
      return x < 0.95 ? 1 + rng.next() * 19 : x < 0.995 ? 50 + rng.next() * 450 : 1000 + rng.next() * 4000;
    };
    const gen = () => Array.from({ length: INTERVALS }, () => [0, 1].map(() => Array.from({ length: 400 + rng.int(400) }, draw)));
    const shardA = gen();
    const shardB = gen();
    const merged = mergeSummaries([shardSummary(0, shardA), shardSummary(1, shardB)], 'merged', 'test');

    // One run that recorded everything (one registry, all samples).
    const all = [...shardA.flat(2), ...shardB.flat(2)];
    const single = new MetricsRegistry(['chat']);
    for (const v of all) single.trend.delivery_latency.record(v);
    const singleAgg = new MetricsAggregate();
    singleAgg.addSnapshot(single.takeSnapshot());
    singleAgg.durationMs = INTERVALS * INTERVAL_MS;
    const one = singleAgg.toJSON().delivery_latency!.values;
    const m = merged.metrics.delivery_latency!.values;
    assert.equal(m.count, all.length);
    for (const k of ['min', 'med', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'max', 'avg']) assert.equal(m[k], one[k], `${k}: merged ${m[k]} vs one run ${one[k]}`);

    const sorted = [...all].sort((a, b) => a - b);
    for (const p of [50, 90, 95, 99, 99.9]) {
      const exact = exactPercentile(sorted, p);
      const got = m[`p(${p})`]!;
      assert.ok(Math.abs(got - exact) <= exact * 0.001 + 0.001, `p(${p}): merged ${got} vs exact ${exact}`);
    }
    // Tagged sub-metric and counters merged too; thresholds judged on the merged data.
    assert.equal(merged.metrics['messages_delivered']!.values.count, all.length);
    assert.equal(merged.thresholds.results.find((r) => r.metric === 'delivery_latency')!.actual, m['p(99)']);
    // The timeline merges interval by interval, from the interval histograms.
    for (let i = 0; i < INTERVALS; i++) {
      const inInterval = [...shardA[i]!.flat(), ...shardB[i]!.flat()].sort((a, b) => a - b);
      const rec = merged.timeline.find((r) => r.index === i)!;
      assert.equal(rec.trends.delivery_latency!.count, inInterval.length);
      const exact = exactPercentile(inInterval, 99);
      assert.ok(Math.abs(rec.trends.delivery_latency!.p99 - exact) <= exact * 0.001 + 0.001, `interval ${i} p99`);
    }
  });
});
