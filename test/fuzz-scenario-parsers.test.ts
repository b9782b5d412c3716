// Fuzz target: what a scenario file and the command line give the load
// generator (loadgen/model/: thresholds, durations, the run plan built from a
// scenario). A scenario is TypeScript, but a compiled .js module can be
// passed too, so its shape is outside input: any field of a shipped scenario
// replaced by a value of the wrong shape must give a plan or a clear error
// (exit 104 naming the field), never a JavaScript TypeError/RangeError
// ("Cannot read properties of null") leaking from deep inside.
// Replay a failure: WA_FUZZ_SEED=<seed printed> node --test dist/test/fuzz-scenario-parsers.test.js
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseDurationMs } from '../loadgen/model/duration';
import { planRun } from '../loadgen/model/plan';
import type { Scenario } from '../loadgen/model/scenario';
import { parseExpression, parseThresholds } from '../loadgen/model/thresholds';
import smoke from '../scenarios/smoke';
import fanout from '../scenarios/fanout';
import failover from '../scenarios/failover';
import breakpoint from '../scenarios/breakpoint';
import { fuzz } from './fuzz/harness';

/** An error a user can act on: ours, not one the JavaScript engine threw from inside. */
function assertClearError(err: unknown, what: string): void {
  assert.ok(err instanceof Error, `${what}: threw a non-Error ${String(err)}`);
  assert.ok(!(err instanceof TypeError) && !(err instanceof RangeError) && !(err instanceof SyntaxError) && !(err instanceof ReferenceError),
    `${what}: a ${err.constructor.name} leaked: ${err.message}`);
}

function clear<T>(what: string, fn: () => T): T | null {
  try {
    return fn();
  } catch (err) {
    assertClearError(err, what);
    return null;
  }
}

const hostile = fc.oneof(
  fc.constantFrom(null, undefined, 0, -1, 1e308, NaN, Infinity, '', '1s', 'x', true, [], [null], {}, { toString: 1 }, ['p(99)<1'], { threshold: 5 },
    'toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Every path to a value in `o` (objects and arrays walked), so a mutation can land anywhere. */
function pathsOf(o: unknown, prefix: string[] = []): string[][] {
  if (typeof o !== 'object' || o === null) return [prefix];
  const out: string[][] = prefix.length ? [prefix] : [];
  for (const [k, v] of Object.entries(o)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

function withValueAt(base: unknown, path: string[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<string, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
  if (value === undefined) delete at[path[path.length - 1]!];
  else at[path[path.length - 1]!] = value;
  return copy;
}

const BASES = [smoke, fanout, failover, breakpoint].map((s) => ({ s, paths: pathsOf(s) }));

describe('scenario parsers: regressions found by fuzzing', () => {
  /** The error planRun gives for `base` with `path` set to `value`: it must be ours and name the field. */
  function planError(base: Scenario, path: string[], value: unknown): Error {
    try {
      planRun(withValueAt(base, path, value) as Scenario, { users: 10 });
    } catch (err) {
      assertClearError(err, path.join('.'));
      return err as Error;
    }
    assert.fail(`${path.join('.')} = ${JSON.stringify(value)} was accepted`);
  }

  test('regression: a duration that is not a string or number (breakpoint.window = ["p(99)<1"]) is a clear error, not "value.trim is not a function"', () => {
    assert.match(planError(breakpoint, ['breakpoint', 'window'], ['p(99)<1']).message, /breakpoint\.window: expected a duration/);
    assert.throws(() => parseDurationMs({} as string), /expected a duration string/);
  });

  test('regression: a distribution of the wrong shape (uniform = 0, a hole in weighted) names the field', () => {
    const delay = smoke.traffic.readReceipts.delayMs;
    if (typeof delay === 'object' && 'uniform' in delay) {
      assert.match(planError(smoke, ['traffic', 'readReceipts', 'delayMs', 'uniform'], 0).message, /traffic\.readReceipts\.delayMs/);
    }
    const sizes = fanout.traffic.groupSize;
    if (typeof sizes === 'object' && 'weighted' in sizes) {
      assert.match(planError(fanout, ['traffic', 'groupSize', 'weighted', '0'], undefined).message, /traffic\.groupSize/);
    }
  });

  test('regression: an object whose coercion throws ({toString: 1}) as a share or an executor name is a clear error', () => {
    assert.match(planError(breakpoint, ['traffic', 'groupShare'], { toString: 1 }).message, /traffic\.groupShare: expected a number, got an object/);
    const exec = Object.keys(smoke.options.scenarios)[0]!;
    assert.match(planError(smoke, ['options', 'scenarios', exec, 'executor'], { toString: 1 }).message, /executor: expected a string/);
  });

  test('regression: an executor named "toString" is refused by name (it was `in` the executor table and threw a TypeError)', () => {
    const exec = Object.keys(fanout.options.scenarios)[0]!;
    assert.match(planError(fanout, ['options', 'scenarios', exec, 'executor'], 'toString').message, /executor must be one of .*got the string "toString"/);
  });

  test('regression: a threshold on "__proto__" names no metric (it found Object.prototype and threw a TypeError)', () => {
    assert.throws(() => parseThresholds(JSON.parse('{"__proto__":["p(99)<1"]}'), ['chat']), /no metric named "__proto__"/);
  });
});

describe('fuzz: threshold expressions and durations', () => {
  test('any threshold expression parses or gets a clear error', async () => {
    const expr = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.tuple(fc.constantFrom('avg', 'min', 'max', 'med', 'count', 'rate', 'value', 'p(99)', 'p(', 'p(101)', 'p(99.9)', 'p()'), fc.constantFrom('<', '<=', '==', '===', '!=', '>', '>=', '=<', ''), fc.oneof(fc.double().map(String), fc.constantFrom('1e999', '-0', '1e', '.5', '5.')))
        .map(([a, op, n]) => `${a}${op}${n}`),
    );
    await fuzz('threshold-expression', 3000, fc.property(expr, (e) => {
      const t = clear(`parseExpression(${JSON.stringify(e)})`, () => parseExpression('delivery_latency', e));
      if (t) assert.ok(Number.isFinite(t.limit) || t.limit === Infinity || t.limit === -Infinity);
    }));
  });

  test('any thresholds object (wrong shapes included) parses or gets a clear error', async () => {
    const spec = fc.oneof(hostile, fc.dictionary(fc.oneof(fc.constantFrom('delivery_latency', 'delivery_lost', 'delivery_success', 'delivery_latency{scenario:chat}', 'delivery_latency{x:y}', 'nope', 'delivery_latency{'), fc.string({ maxLength: 10 })), hostile, { maxKeys: 3 }));
    await fuzz('thresholds-spec', 3000, fc.property(spec, (s) => {
      clear('parseThresholds', () => parseThresholds(s as never, ['chat']));
    }));
  });

  test('any duration (string, number or a wrong shape) is a non-negative number of ms or a clear error', async () => {
    const d = fc.oneof(hostile, fc.string({ maxLength: 12 }), fc.stringMatching(/^(\d{1,6}(\.\d{1,3})?(ms|s|m|h)){1,3}$/), fc.double());
    await fuzz('duration', 3000, fc.property(d, (v) => {
      const ms = clear('parseDurationMs', () => parseDurationMs(v as string));
      if (ms !== null) assert.ok(Number.isFinite(ms) && ms >= 0, `${JSON.stringify(v)} -> ${ms}`);
    }));
  });
});

describe('fuzz: scenarios of the wrong shape', () => {
  test('a shipped scenario with any one field replaced by a hostile value plans or gets a clear error', async () => {
    const mutation = fc.nat({ max: BASES.length - 1 }).chain((i) =>
      fc.tuple(fc.constant(i), fc.constantFrom(...BASES[i]!.paths), hostile));
    await fuzz('scenario-plan', 1500, fc.property(mutation, ([i, path, value]) => {
      const s = withValueAt(BASES[i]!.s, path, value) as Scenario;
      clear(`planRun(${BASES[i]!.s.name} with ${path.join('.')} = ${JSON.stringify(value)})`, () => planRun(s, { users: 10 }));
    }));
  });
});
