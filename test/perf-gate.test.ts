// The CI performance gate end to end, as a pipeline runs it (tools/perf-gate/cli.ts),
// with a short configuration so the suite stays fast: a baseline recorded here
// (2 rounds x 3 repetitions), then the gate on the unchanged build twice in a
// row (both must pass: no false alarm), then with the server's slowdown knob
// (WA_DEBUG_SLOWDOWN_US, a test aid) set high (it must fail, exit 1, with the
// throughput proxy named in JUnit). A baseline of another shape is refused (exit 2).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runNode, type NodeRun } from './helpers/run-node';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const GATE = join(__dirname, '..', 'tools', 'perf-gate', 'cli.js');
const SHORT = ['--reps', '3', '--duration', '6s', '--skip', '1'];
/** µs of CPU per message the knob adds in the failing run: several times a message's whole cost. */
const SLOWDOWN_US = 300;
const RUN_TIMEOUT_MS = 180_000;

type GateResult = NodeRun;

function gate(args: string[], env: Record<string, string> = {}): Promise<GateResult> {
  const { WA_DEBUG_SLOWDOWN_US: _ignored, ...inherited } = process.env;
  return runNode(GATE, args, { env: { ...inherited, ...env }, timeoutMs: RUN_TIMEOUT_MS, name: `perf-gate ${args.join(' ')}` });
}

interface VerdictJson {
  pass: boolean;
  debug_slowdown_us: number;
  metrics: { metric: string; pass: boolean; ratio: number; bound: number; p: number }[];
  integrity: { pass: boolean };
}

describe('perf gate', () => {
  let dir: string;
  let baseline: string;
  const verdictOf = (out: string) => JSON.parse(readFileSync(join(dir, out, 'verdict.json'), 'utf8')) as VerdictJson;
  const junitOf = (out: string) => readFileSync(join(dir, out, 'junit.xml'), 'utf8');
  const log = (what: string, r: GateResult) =>
    console.log(`# ${what}: exit ${r.code} in ${(r.ms / 1000).toFixed(1)} s (load average ${loadavg()[0]!.toFixed(2)})\n${r.stdout.replace(/^/gm, '# ')}`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'perf-gate-'));
    baseline = join(dir, 'baseline.json');
    const r = await gate(['baseline', '--rounds', '2', ...SHORT, '--baseline', baseline, '--out', join(dir, 'baseline-run')]);
    log('baseline', r);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The gate's "cannot judge" on a busy machine (tools/perf-gate/oversubscribed.ts): the test is then skipped, saying so. */
  const busy = (r: GateResult) => (r.code === 2 ? /perf gate: CANNOT JUDGE \((the machine was oversubscribed.*?)\): the timings/.exec(r.stdout)?.[1] : undefined);

  test('an unchanged build passes twice in a row, with a verdict table, verdict.json and one JUnit case per gated metric', async (t) => {
    for (const run of ['unchanged-1', 'unchanged-2']) {
      const r = await gate(['run', ...SHORT, '--baseline', baseline, '--out', join(dir, run)]);
      log(run, r);
      const why = busy(r);
      if (why) return t.skip(`${run}: ${why}`);
      assert.equal(r.code, 0, `${run} failed on an unchanged build:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /metric\s+baseline\s+current\s+ratio\s+bound \(ratio\)\s+p\s+verdict/);
      assert.match(r.stdout, /perf gate: PASS/);
      const v = verdictOf(run);
      assert.equal(v.pass, true);
      assert.deepEqual(v.metrics.map((m) => m.metric), ['cpu_per_msg', 'delivery_p50_ms', 'delivery_p95_ms', 'delivery_p99_ms']);
      const junit = junitOf(run);
      assert.match(junit, /<testsuite name="perf-gate" tests="5" failures="0"/);
      assert.equal((junit.match(/<testcase /g) ?? []).length, 5);
    }
  });

  test(`the slowdown knob (${SLOWDOWN_US} µs per message) fails the gate on the throughput proxy, exit 1`, async (t) => {
    const r = await gate(['run', ...SHORT, '--baseline', baseline, '--out', join(dir, 'slowed')], { WA_DEBUG_SLOWDOWN_US: String(SLOWDOWN_US) });
    log('slowed', r);
    const why = busy(r);
    if (why) return t.skip(`slowed: ${why}`);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /perf gate: FAIL/);
    const v = verdictOf('slowed');
    assert.equal(v.pass, false);
    assert.equal(v.debug_slowdown_us, SLOWDOWN_US);
    const cpu = v.metrics.find((m) => m.metric === 'cpu_per_msg')!;
    assert.equal(cpu.pass, false);
    assert.ok(cpu.ratio > 1 + cpu.bound, JSON.stringify(cpu));
    assert.match(junitOf('slowed'), /<testcase classname="perf-gate" name="cpu_per_msg" time="0">\s*<failure message="cpu_per_msg regressed/);
  });

  test('a baseline measured with another shape is refused before measuring: exit 2', async () => {
    const r = await gate(['run', '--reps', '3', '--duration', '4s', '--skip', '1', '--baseline', baseline, '--out', join(dir, 'mismatch')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /another configuration/);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
  });
});
