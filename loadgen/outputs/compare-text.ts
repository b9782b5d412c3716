// `loadgen compare`'s table: every metric of two runs side by side with the
// ratio B/A, then the per-interval statistics with the perf gate's verdict.
import type { Comparison, SideBySide } from '../engine/compare';

const fmt = (x: number | null): string =>
  x === null ? '–' : Number.isInteger(x) || Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en') : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(3);
const ratio = (s: SideBySide): string => (s.ratio === null ? '' : `x${s.ratio.toFixed(3)}`);

function tableOf(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  ').trimEnd(), ...rows.slice(1).map(line)];
}

export function renderCompareText(c: Comparison): string {
  const out: string[] = [
    `A: ${c.a.run_id} (${c.a.scenario}, ${c.a.measured_s}s measured, started ${c.a.started_at})`,
    `B: ${c.b.run_id} (${c.b.scenario}, ${c.b.measured_s}s measured, started ${c.b.started_at})`,
    '',
  ];
  const rows: string[][] = [['metric', 'A', 'B', 'B/A']];
  const add = (name: string, s: SideBySide) => rows.push([name, fmt(s.a), fmt(s.b), ratio(s)]);
  for (const t of c.trends) {
    add(`${t.metric} count`, t.count);
    add(`  avg ms`, t.mean_ms);
    for (const [p, s] of Object.entries(t.percentiles_ms)) add(`  p(${p}) ms`, s);
    add(`  max ms`, t.max_ms);
  }
  for (const r of c.rates) add(`${r.metric} rate`, r.rate);
  for (const k of c.counters) add(`${k.metric} /s`, k.per_s);
  out.push('metrics (trend percentiles from the stored HDR histograms; counters per second of the measured window):', ...tableOf(rows), '');
  const integ: string[][] = [['integrity', 'A', 'B', '']];
  for (const i of c.integrity) integ.push([i.metric, fmt(i.count.a), fmt(i.count.b), i.must_be_zero && ((i.count.a ?? 0) > 0 || (i.count.b ?? 0) > 0) ? 'NOT ZERO' : '']);
  out.push(...tableOf(integ), '');
  const cpu: string[][] = [['CPU per message sent (µs)', 'A', 'B', 'B/A']];
  cpu.push(['load generator', fmt(c.cpu_per_message_us.loadgen.a), fmt(c.cpu_per_message_us.loadgen.b), ratio(c.cpu_per_message_us.loadgen)]);
  cpu.push(['system (all processes)', fmt(c.cpu_per_message_us.system.a), fmt(c.cpu_per_message_us.system.b), ratio(c.cpu_per_message_us.system)]);
  for (const [p, s] of Object.entries(c.cpu_per_message_us.by_process)) cpu.push([`  ${p}`, fmt(s.a), fmt(s.b), ratio(s)]);
  out.push(...tableOf(cpu), '');
  const st: string[][] = [['per-interval samples (B vs A)', 'n A/B', 'median A', 'median B', 'ratio', 'bound', 'p', 'verdict']];
  for (const s of c.statistics) {
    const j = s.judgement;
    if (!j) {
      st.push([s.metric, `${s.samples.a}/${s.samples.b}`, '', '', '', '', '', 'too few samples']);
      continue;
    }
    const bound = j.higherIsWorse ? `<= ${(1 + j.bound).toFixed(3)}` : `>= ${(1 - j.bound).toFixed(3)}`;
    st.push([s.metric, `${s.samples.a}/${s.samples.b}`, `${fmt(j.baselineMedian)} ${s.unit}`, `${fmt(j.currentMedian)} ${s.unit}`,
      j.ratio.toFixed(3), bound, j.p.toFixed(3), j.pass ? 'same or better' : 'WORSE']);
  }
  out.push('the perf gate\'s rule on per-interval samples (intervals are not independent: a guide, not a verdict):', ...tableOf(st), '');
  out.push(c.regressed.length ? `B is worse than A: ${c.regressed.join(', ')}` : 'B is not worse than A on any judged metric');
  return out.join('\n');
}
