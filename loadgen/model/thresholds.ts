// Thresholds in k6's syntax: `{ delivery_latency: ['p(99)<100', 'avg<20'],
// delivery_lost: ['count==0'], delivery_success: ['rate>0.999'],
// 'sent_ack_latency{scenario:chat}': [{ threshold: 'p(95)<50', abortOnFail: true, delayAbortEval: '10s' }] }`.
//
// Aggregations per metric type, as in k6: trend avg|min|med|max|p(N) (plus
// count, ours); counter count|rate (per second); rate rate; gauge value.
// Operators: < <= > >= == === !=. A failed threshold makes the run exit 99;
// with abortOnFail it also stops the run as soon as it fails (after
// delayAbortEval), still exiting 99.
import { metricInfo, splitMetricName, type MetricType } from './metric-catalog';
import type { ThresholdSpec } from './scenario';
import { parseDurationMs } from './duration';

/** k6's exit code when thresholds failed (also when abortOnFail stopped the run). */
export const EXIT_THRESHOLDS_FAILED = 99;

export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** k6's aggregation names ('p' is p(N), with the percentile beside it). */
export type Aggregation = 'avg' | 'min' | 'med' | 'max' | 'p' | 'count' | 'rate' | 'value';

/**
 * Where a threshold reads its metric's value: the coordinator's cumulative
 * metrics or one breakpoint window (loadgen/metrics/aggregate.ts). An
 * interface here, so the scenario model stays below the metrics machinery.
 */
export interface MetricReader {
  value(name: string, aggregation: Aggregation, percentile?: number): number;
}

export interface Threshold {
  /** As written, e.g. "p(99)<100". */
  source: string;
  /** Full metric name, maybe with tags: "delivery_latency{scenario:chat}". */
  metric: string;
  aggregation: Aggregation;
  percentile: number;
  op: Operator;
  limit: number;
  abortOnFail: boolean;
  delayAbortEvalMs: number;
}

export interface ThresholdResult {
  metric: string;
  source: string;
  ok: boolean;
  /** The metric's value under the threshold's aggregation. */
  actual: number;
}

const EXPRESSION = /^\s*(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*$/;

const AGGREGATIONS: Record<MetricType, readonly string[]> = {
  trend: ['avg', 'min', 'max', 'med', 'p', 'count'],
  counter: ['count', 'rate'],
  rate: ['rate'],
  gauge: ['value'],
};

/** Parse one expression ("p(99)<100"); throws with the reason k6 would give. */
export function parseExpression(metric: string, source: string): Omit<Threshold, 'abortOnFail' | 'delayAbortEvalMs'> {
  const m = EXPRESSION.exec(source);
  if (!m) {
    throw new Error(`threshold "${source}" on ${metric}: expected <aggregation> <operator> <number>, e.g. p(99)<100, avg<=20, rate>0.99, count==0`);
  }
  const aggregation = (m[1]!.startsWith('p(') ? 'p' : m[1]) as Aggregation;
  const percentile = aggregation === 'p' ? Number(m[2]) : 0;
  if (aggregation === 'p' && (percentile < 0 || percentile > 100)) throw new Error(`threshold "${source}" on ${metric}: percentile must be within 0..100`);
  const op = (m[3] === '===' ? '==' : m[3]) as Operator;
  return { source, metric, aggregation, percentile, op, limit: Number(m[4]) };
}

/**
 * Parse and validate a scenario's thresholds: known metric, aggregation valid
 * for its type, tags limited to {scenario:<one of scenarioNames>}.
 */
export function parseThresholds(spec: Record<string, ThresholdSpec[]> | undefined, scenarioNames: readonly string[]): Threshold[] {
  const out: Threshold[] = [];
  for (const [metric, list] of Object.entries(spec ?? {})) {
    const { base, tags } = splitMetricName(metric);
    const info = metricInfo(base);
    if (!info) throw new Error(`invalid threshold defined on ${metric}: no metric named "${base}" (loadgen list shows the metrics)`);
    for (const [k, v] of Object.entries(tags)) {
      if (k !== 'scenario') throw new Error(`threshold on ${metric}: only the {scenario:<name>} tag is recorded, not "${k}"`);
      if (!scenarioNames.includes(v)) throw new Error(`threshold on ${metric}: no scenario named "${v}" (have ${scenarioNames.join(', ')})`);
    }
    if (!Array.isArray(list) || list.length === 0) throw new Error(`thresholds for ${metric} must be a non-empty array`);
    for (const item of list) {
      const isObj = typeof item === 'object' && item !== null;
      const source = isObj ? item.threshold : item;
      if (typeof source !== 'string') throw new Error(`threshold on ${metric}: expected a string or { threshold: string, abortOnFail?, delayAbortEval? }`);
      const parsed = parseExpression(metric, source);
      if (!AGGREGATIONS[info.type].includes(parsed.aggregation)) {
        throw new Error(`threshold "${source}" on ${metric}: ${parsed.aggregation === 'p' ? 'p(N)' : parsed.aggregation} does not apply to a ${info.type} ` +
          `(use ${AGGREGATIONS[info.type].map((a) => (a === 'p' ? 'p(N)' : a)).join(', ')})`);
      }
      out.push({
        ...parsed,
        abortOnFail: isObj ? item.abortOnFail === true : false,
        delayAbortEvalMs: isObj && item.delayAbortEval !== undefined ? parseDurationMs(item.delayAbortEval, `delayAbortEval of ${metric}`) : 0,
      });
    }
  }
  return out;
}

export function compare(actual: number, op: Operator, limit: number): boolean {
  switch (op) {
    case '<': return actual < limit;
    case '<=': return actual <= limit;
    case '>': return actual > limit;
    case '>=': return actual >= limit;
    case '==': return actual === limit;
    case '!=': return actual !== limit;
  }
}

export function evaluate(t: Threshold, metrics: MetricReader): ThresholdResult {
  const actual = metrics.value(t.metric, t.aggregation, t.percentile);
  return { metric: t.metric, source: t.source, ok: compare(actual, t.op, t.limit), actual };
}

export function evaluateAll(thresholds: readonly Threshold[], metrics: MetricReader): ThresholdResult[] {
  return thresholds.map((t) => evaluate(t, metrics));
}

/** The first abortOnFail threshold that fails at `elapsedMs` into the run (null: keep going). */
export function abortingThreshold(thresholds: readonly Threshold[], metrics: MetricReader, elapsedMs: number): ThresholdResult | null {
  for (const t of thresholds) {
    if (!t.abortOnFail || elapsedMs < t.delayAbortEvalMs) continue;
    const r = evaluate(t, metrics);
    if (!r.ok) return r;
  }
  return null;
}

/** Full names of tagged sub-metrics that thresholds use (the workers record only these). */
export function taggedMetrics(thresholds: readonly Threshold[]): string[] {
  return [...new Set(thresholds.map((t) => t.metric).filter((m) => m.includes('{')))];
}
