// The deterministic gate's judgement: instructions per message of each
// workload section, baseline (A) vs candidate (B), medians compared against a
// tight bound; an explicit record in the repo (results/baselines/
// accepted-regressions.json) turns an intended regression into ACCEPTED.
import { existsSync, readFileSync } from 'node:fs';
import { median } from '../../lib/regression-stats';
import type { InstrSample } from './callgrind';

export const INSTR_METRICS = [
  { name: 'chat_instr_per_msg', key: 'chat', description: 'chat engine + embedded store, per 1:1 message with its ack and receipt' },
  { name: 'gateway_instr_per_msg', key: 'gateway', description: 'gateway frame path (split, decode, validate) + server frame encoding, per message' },
] as const;

export type InstrMetric = (typeof INSTR_METRICS)[number]['name'];

export interface AcceptedRegression {
  /** The commit (or a prefix of at least 7 hex digits) that made the change. */
  commit: string;
  metric: InstrMetric;
  /** The accepted ratio candidate/baseline; a larger one still fails. */
  max_ratio: number;
  /** Why the cost is worth it (shown in the verdict). */
  why: string;
}

export interface InstrMetricVerdict {
  metric: InstrMetric;
  baseline: number[];
  current: number[];
  ratio: number;
  bound: number;
  spread_baseline_pct: number;
  spread_current_pct: number;
  verdict: 'PASS' | 'FAIL' | 'ACCEPTED' | 'NOISY';
  note: string;
}

export function spreadPct(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  return ((Math.max(...xs) - Math.min(...xs)) / median(xs)) * 100;
}

/** Validated entries of the accepted-regressions file; a malformed file is an error, not "none". */
export function readAccepted(file: string): AcceptedRegression[] {
  if (!existsSync(file)) return [];
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { accepted?: unknown };
  if (!Array.isArray(doc.accepted)) throw new Error(`${file}: expected { "accepted": [ ... ] }`);
  if (doc.accepted.length > 1000) throw new Error(`${file}: more than 1000 entries`);
  return doc.accepted.map((e: Partial<AcceptedRegression>, i: number) => {
    const names = INSTR_METRICS.map((m) => m.name) as string[];
    if (typeof e.commit !== 'string' || !/^[0-9a-f]{7,40}$/.test(e.commit)) throw new Error(`${file}: entry ${i}: commit must be 7-40 hex digits`);
    if (typeof e.metric !== 'string' || !names.includes(e.metric)) throw new Error(`${file}: entry ${i}: metric must be one of ${names.join(', ')}`);
    if (typeof e.max_ratio !== 'number' || !(e.max_ratio > 1 && e.max_ratio < 10)) throw new Error(`${file}: entry ${i}: max_ratio must be within (1, 10)`);
    if (typeof e.why !== 'string' || e.why.trim().length < 10) throw new Error(`${file}: entry ${i}: say why (at least 10 characters)`);
    return e as AcceptedRegression;
  });
}

/**
 * Judge each metric. `changeCommits`: the commits between baseline and
 * candidate (an accepted record applies only to a change being judged).
 */
export function judgeInstr(
  a: readonly InstrSample[], b: readonly InstrSample[], boundPct: number, spreadMaxPct: number,
  accepted: readonly AcceptedRegression[], changeCommits: readonly string[],
): InstrMetricVerdict[] {
  return INSTR_METRICS.map((m) => {
    const baseline = a.map((s) => s[m.key]);
    const current = b.map((s) => s[m.key]);
    const ratio = median(current) / median(baseline);
    const bound = 1 + boundPct / 100;
    const sa = spreadPct(baseline);
    const sb = spreadPct(current);
    const base = { metric: m.name, baseline, current, ratio, bound, spread_baseline_pct: sa, spread_current_pct: sb };
    if (sa > spreadMaxPct || sb > spreadMaxPct) {
      return { ...base, verdict: 'NOISY', note: `runs differ by ${Math.max(sa, sb).toFixed(3)}% > ${spreadMaxPct}%: not deterministic here, cannot judge` };
    }
    if (ratio <= bound) return { ...base, verdict: 'PASS', note: '' };
    const ok = accepted.find((e) => e.metric === m.name && ratio <= e.max_ratio && changeCommits.some((c) => c.startsWith(e.commit)));
    if (ok) return { ...base, verdict: 'ACCEPTED', note: `accepted for ${ok.commit} (up to ${ok.max_ratio}): ${ok.why}` };
    return { ...base, verdict: 'FAIL', note: `worse by ${((ratio - 1) * 100).toFixed(2)}% > bound ${boundPct}%` };
  });
}

export function renderInstrTable(vs: readonly InstrMetricVerdict[]): string {
  const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
  const rows = [['metric', 'baseline (A)', 'candidate (B)', 'ratio', 'bound', 'spread A/B %', 'verdict']];
  for (const v of vs) {
    rows.push([v.metric, fmt(median(v.baseline)), fmt(median(v.current)), v.ratio.toFixed(4), `<= ${v.bound.toFixed(3)}`,
      `${v.spread_baseline_pct.toFixed(4)}/${v.spread_current_pct.toFixed(4)}`, v.verdict]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  for (const v of vs) if (v.note) out.push(`${v.verdict} ${v.metric}: ${v.note}`);
  return out.join('\n');
}
