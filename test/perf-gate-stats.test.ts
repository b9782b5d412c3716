// The perf gate's statistics (lib/regression-stats.ts): robust location and
// spread, the one-sided Mann–Whitney U test against known values, and the
// rule's four outcomes (within the bound; beyond it but inconsistent; beyond
// and consistent; a rate that fell).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judge, mad, mannWhitneyGreaterP, mannWhitneyU, median, normalCdf, relativeSpread, type GateRule } from '../lib/regression-stats';
import type { GateRunRecord } from '../tools/perf-gate/baseline';
import { LOAD_PER_CPU_MAX, oversubscribed, peakLoad } from '../tools/perf-gate/oversubscribed';
import { decide, renderTable } from '../tools/perf-gate/verdict';

const RULE: GateRule = { relativeBound: 0.1, k: 3, alpha: 0.05, higherIsWorse: true };

describe('perf gate statistics', () => {
  test('median and MAD of odd and even samples', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(mad([1, 2, 3, 4, 100]), 1);
    assert.throws(() => median([]), /no samples/);
  });

  test('relative spread is MAD x 1.4826 / median and ignores one wild sample', () => {
    assert.ok(Math.abs(relativeSpread([9, 10, 11]) - 0.14826) < 1e-9);
    assert.ok(relativeSpread([10, 10.1, 9.9, 10, 1000]) < 0.02);
  });

  test('U counts pairs where x wins, ties as one half', () => {
    assert.equal(mannWhitneyU([3, 4], [1, 2]), 4);
    assert.equal(mannWhitneyU([1, 2], [3, 4]), 0);
    assert.equal(mannWhitneyU([2], [2]), 0.5);
  });

  test('exact one-sided p-values: complete separation of 3 vs 3 is 1/20, of 5 vs 5 is 1/252', () => {
    assert.ok(Math.abs(mannWhitneyGreaterP([4, 5, 6], [1, 2, 3]) - 1 / 20) < 1e-12);
    assert.ok(Math.abs(mannWhitneyGreaterP([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) - 1 / 252) < 1e-12);
    // The other direction: nothing is larger, so every arrangement is at least as extreme.
    assert.equal(mannWhitneyGreaterP([1, 2, 3], [4, 5, 6]), 1);
    // Interleaved samples are far from significant.
    assert.ok(mannWhitneyGreaterP([1, 3, 5], [2, 4, 6]) > 0.5);
  });

  test('exact p-values with ties stay within [0, 1] and treat identical samples as no evidence', () => {
    const p = mannWhitneyGreaterP([2, 2, 2], [2, 2, 2]);
    assert.equal(p, 1);
    const q = mannWhitneyGreaterP([2, 3, 3], [1, 2, 2]);
    assert.ok(q > 0 && q < 0.5, String(q));
  });

  test('large samples use the normal approximation and agree with the exact test in the tail', () => {
    const x = Array.from({ length: 20 }, (_, i) => 10 + i);
    const y = Array.from({ length: 20 }, (_, i) => i);
    const p = mannWhitneyGreaterP(x, y); // C(40,20) arrangements: normal approximation
    assert.ok(p < 0.01 && p > 0, String(p));
    assert.ok(Math.abs(normalCdf(1.959964) - 0.975) < 1e-6);
    assert.ok(Math.abs(normalCdf(-1) - 0.158655) < 1e-6);
  });

  test('an unchanged build: medians within the bound pass', () => {
    const j = judge([100, 102, 98, 101, 99], [103, 101, 104, 100, 102], RULE);
    assert.equal(j.pass, true, j.reason);
    assert.ok(j.ratio > 1 && j.ratio < 1.1);
    assert.match(j.reason, /within the bound/);
  });

  test('a 30% slower build whose every sample is slower fails', () => {
    const j = judge([100, 102, 98, 101, 99], [130, 128, 133, 131, 129], RULE);
    assert.equal(j.pass, false);
    assert.ok(j.p <= 0.05);
    assert.match(j.reason, /, consistently/);
  });

  test('beyond the bound on the median but not consistent (one repetition per side decides nothing) passes', () => {
    const j = judge([100, 101, 99], [140, 98, 141], RULE);
    assert.ok(j.ratio > 1.1);
    assert.equal(j.pass, true, j.reason);
    assert.match(j.reason, /not consistently/);
  });

  test('a noisy baseline widens the bound to k x its spread', () => {
    const noisy = [80, 100, 120, 90, 110];
    const j = judge(noisy, [125, 130, 128, 126, 127], RULE);
    assert.ok(j.bound > 0.3, String(j.bound));
    assert.equal(j.pass, true, j.reason);
    assert.equal(judge([99, 100, 101, 100, 100], [125, 130, 128, 126, 127], RULE).pass, false);
  });

  test('a bimodal baseline (quiet and disturbed windows) is not failed for a value it produced itself', () => {
    // MAD sees only the larger mode (spread ~3%); the worst baseline sample is 4.7x the median.
    const tail = [7.5, 34.6, 5.8, 23.6, 7.2, 7.0];
    const j = judge(tail, [29, 31, 27], { ...RULE, relativeBound: 0.5 });
    assert.ok(j.baselineExcursion > 3.5, String(j.baselineExcursion));
    assert.equal(j.pass, true, j.reason);
    assert.equal(judge(tail, [60, 70, 65], { ...RULE, relativeBound: 0.5 }).pass, false);
  });

  test('for a rate, lower is worse', () => {
    const rule = { ...RULE, higherIsWorse: false };
    assert.equal(judge([1000, 1010, 990, 1005, 995], [700, 710, 690, 705, 695], rule).pass, false);
    assert.equal(judge([1000, 1010, 990, 1005, 995], [1300, 1310, 1290, 1305, 1295], rule).pass, true);
  });

  test('fewer than 2 samples on a side cannot be judged', () => {
    assert.throws(() => judge([1], [1, 2], RULE), /at least 2/);
  });
});

describe('the timed gate will not judge an oversubscribed machine', () => {
  const record = (cpus: number, loads: number[]): GateRunRecord => ({
    machine: { cpus, loadavg_start: [loads[0]!], loadavg_end: [loads[loads.length - 1]!] },
    rounds: [{ loadavg_start: loads[0]!, loadavg_end: Math.max(...loads) }],
  }) as unknown as GateRunRecord;

  test('peak load over the run, the limit per core, and which side was over it', () => {
    assert.equal(peakLoad(record(2, [1.5, 4.2, 2])), 4.2);
    assert.equal(oversubscribed(record(2, [2, 3]), record(2, [2.5, LOAD_PER_CPU_MAX * 2])), null, 'at the limit: judged');
    assert.match(oversubscribed(record(2, [8.24, 8.5]), record(2, [2, 3]))!, /^the machine was oversubscribed: baseline was measured at load average 8.5 on 2 cores \(> 3 per core\)$/);
    assert.match(oversubscribed(record(2, [1, 2]), record(2, [9.44]))!, /this run was measured at load average 9.44 on 2 cores/);
    assert.equal(oversubscribed(record(8, [9.44]), record(8, [20])), null, '8 cores carry load 20');
  });

  test('the verdict line says CANNOT JUDGE, unless messages were lost: that fails whatever the load', () => {
    const six = (x: number) => [x, x * 1.01, x * 0.99, x * 1.02, x * 0.98, x];
    const samples = { cpu_per_msg: six(10), delivery_p50_ms: six(1), delivery_p95_ms: six(2), delivery_p99_ms: six(3) };
    const slow = { ...samples, cpu_per_msg: six(16), delivery_p50_ms: six(6) };
    const ok = decide(samples, slow, { pass: true, lost: 0, duplicated: 0, out_of_order: 0 });
    assert.equal(ok.pass, false);
    assert.match(renderTable(ok, 'the machine was oversubscribed: x'), /perf gate: CANNOT JUDGE \(the machine was oversubscribed: x\)/);
    assert.match(renderTable(ok), /perf gate: FAIL$/);
    const lost = decide(samples, samples, { pass: false, lost: 1, duplicated: 0, out_of_order: 0 });
    assert.match(renderTable(lost, 'the machine was oversubscribed: x'), /perf gate: FAIL$/);
  });
});
