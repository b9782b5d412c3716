// The gate's verdict: each gated metric's baseline and current samples judged
// by the noise-aware rule (./stats.ts), plus an integrity check, rendered as
// the table CI logs show, as JUnit XML (one test case per gated metric) and as
// JSON (verdict.json) for tools.
import { escapeMarkup } from '../../loadgen/outputs/escape';
import { junitDocument } from '../../loadgen/outputs/junit';
import { judge, type Judgement } from '../../lib/regression-stats';
import { GATED_METRICS, type MetricSamples } from './metrics';

export interface MetricVerdict extends Judgement {
  metric: string;
  unit: string;
  description: string;
  baseline: number[];
  current: number[];
  higherIsWorse: boolean;
}

export interface IntegrityVerdict {
  pass: boolean;
  lost: number;
  duplicated: number;
  out_of_order: number;
}

export interface Verdict {
  pass: boolean;
  metrics: MetricVerdict[];
  integrity: IntegrityVerdict;
}

export function decide(baseline: MetricSamples, current: MetricSamples, integrity: IntegrityVerdict): Verdict {
  const metrics: MetricVerdict[] = GATED_METRICS.map((m) => {
    const b = baseline[m.name];
    const c = current[m.name];
    if (!b || !c) throw new Error(`perf gate: no samples of ${m.name} in the ${!b ? 'baseline' : 'current run'}`);
    return { metric: m.name, unit: m.unit, description: m.description, baseline: b, current: c, higherIsWorse: m.rule.higherIsWorse, ...judge(b, c, m.rule) };
  });
  return { pass: integrity.pass && metrics.every((m) => m.pass), metrics, integrity };
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3));

/** The verdict table: metric, baseline median, current median, ratio, bound, p, PASS/FAIL. */
/** `cannotJudge`: why the timings are not judged (./oversubscribed.ts); the table is then for the record. */
export function renderTable(v: Verdict, cannotJudge: string | null = null): string {
  const rows = [['metric', 'baseline', 'current', 'ratio', 'bound (ratio)', 'p', 'verdict']];
  for (const m of v.metrics) {
    const limit = m.higherIsWorse ? `<= ${(1 + m.bound).toFixed(3)}` : `>= ${(1 - m.bound).toFixed(3)}`;
    rows.push([m.metric, `${fmt(m.baselineMedian)} ${m.unit}`, `${fmt(m.currentMedian)} ${m.unit}`, m.ratio.toFixed(3), limit, m.p.toFixed(3), m.pass ? 'PASS' : 'FAIL']);
  }
  const i = v.integrity;
  rows.push(['integrity (lost/dup/ooo)', '0/0/0', `${i.lost}/${i.duplicated}/${i.out_of_order}`, '', '', '', i.pass ? 'PASS' : 'FAIL']);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  out.push('', ...v.metrics.map((m) => `${m.pass ? 'PASS' : 'FAIL'} ${m.metric}: ${m.reason}`));
  const judged = cannotJudge && v.integrity.pass ? `CANNOT JUDGE (${cannotJudge}): the timings above are for the record, not a verdict` : v.pass ? 'PASS' : 'FAIL';
  out.push('', `perf gate: ${judged}`);
  return out.join('\n');
}

const esc = escapeMarkup;

/** JUnit XML: one test case per gated metric and one for integrity; a regression is a <failure>. */
export function renderJunit(v: Verdict, seconds: number, timestamp: string): string {
  const suite = 'perf-gate';
  const cases = v.metrics.map((m) => {
    // A stable name (CI tracks test cases by name); the numbers go in the body.
    const name = m.metric;
    const detail = `baseline median ${fmt(m.baselineMedian)} ${m.unit}, current ${fmt(m.currentMedian)} ${m.unit}, ratio ${m.ratio.toFixed(3)}, ` +
      `bound ${(m.bound * 100).toFixed(1)}%, Mann-Whitney p=${m.p.toFixed(3)}; baseline [${m.baseline.join(', ')}], current [${m.current.join(', ')}]`;
    const body = m.pass ? `\n      <system-out>${esc(detail)}</system-out>\n    `
      : `\n      <failure message="${esc(`${m.metric} regressed: ${m.reason}`)}" type="regression">${esc(detail)}</failure>\n    `;
    return `    <testcase classname="${suite}" name="${esc(name)}" time="0">${body}</testcase>`;
  });
  const i = v.integrity;
  cases.push(`    <testcase classname="${suite}" name="integrity (nothing lost, duplicated or out of order)" time="0">` +
    (i.pass ? '</testcase>' : `\n      <failure message="${esc(`lost ${i.lost}, duplicated ${i.duplicated}, out of order ${i.out_of_order}`)}" type="integrity"/>\n    </testcase>`));
  const failures = v.metrics.filter((m) => !m.pass).length + (i.pass ? 0 : 1);
  return junitDocument(suite, cases, failures, seconds.toFixed(3), timestamp);
}
