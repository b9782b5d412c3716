// The timed gate, A/B (tools/perf-gate/timed-ab.ts): the baseline ref built in
// a worktree beside this checkout, both measured in alternating pairs on fresh
// systems, judged within the run. The refusals are quick and run in
// `make test`; the real A/B (HEAD built as the baseline, ~3 min per gate run)
// runs with WA_TEST_PERF_GATE_AB=1 (`make test-perf-gate`).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runNode } from './helpers/run-node';

const GATE = join(__dirname, '..', 'tools', 'perf-gate', 'cli.js');

function gate(args: string[], timeoutMs = 30_000) {
  const { WA_DEBUG_SLOWDOWN_US: _ignored, ...env } = process.env;
  return runNode(GATE, ['ab', ...args], { env, timeoutMs, name: `perf-gate ab ${args.join(' ')}` });
}

describe('perf gate (timed A/B): refusals', () => {
  test('too few pairs for the rule to ever fail, or a bad aid value: exit 2 before building anything', async () => {
    for (const [args, why] of [[['--pairs', '3'], /--pairs must be an integer within 4\.\.20/], [['--slowdown-us', '99999999'], /--slowdown-us must be within/]] as const) {
      const r = await gate([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, why);
    }
  });

  test('a baseline ref that is not a commit here: exit 2, naming it', async () => {
    const r = await gate(['--baseline-ref', 'no-such-ref-anywhere']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the baseline cannot be built: no-such-ref-anywhere is not a commit here/);
  });
});

const AB = process.env.WA_TEST_PERF_GATE_AB === '1';

describe('perf gate (timed A/B): HEAD built beside the candidate', { skip: AB ? false : 'set WA_TEST_PERF_GATE_AB=1 (make test-perf-gate): builds HEAD in a worktree, ~3 min per gate run' }, () => {
  const run = async (extra: string[]) => {
    const out = mkdtempSync(join(tmpdir(), 'timed-ab-'));
    try {
      const r = await gate(['--baseline-ref', 'HEAD', '--pairs', '5', '--duration', '6s', '--skip', '1', '--out', out, ...extra], 900_000);
      console.log(`# perf-gate ab ${extra.join(' ')}: exit ${r.code} in ${(r.ms / 1000).toFixed(0)} s\n${r.stdout.replace(/^/gm, '# ')}${r.stderr.replace(/^/gm, '# ')}`);
      const v = JSON.parse(readFileSync(join(out, 'verdict.json'), 'utf8')) as { pass: boolean; mode: string; pairs: number; metrics: { metric: string; pass: boolean; ratio: number }[] };
      return { code: r.code, v };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };

  test('the unchanged candidate against its own commit built beside it: pass', async () => {
    const { code, v } = await run([]);
    assert.equal(v.mode, 'timed-ab');
    assert.equal(v.pairs, 5);
    assert.deepEqual(v.metrics.map((m) => m.metric), ['cpu_per_msg', 'delivery_p50_ms', 'delivery_p95_ms', 'delivery_p99_ms']);
    assert.equal(code, 0, JSON.stringify(v.metrics.map((m) => [m.metric, m.ratio])));
  });

  test('300 µs of slowdown per message on the candidate only: cpu_per_msg fails, exit 1', async () => {
    const { code, v } = await run(['--slowdown-us', '300']);
    assert.equal(code, 1);
    const cpu = v.metrics.find((m) => m.metric === 'cpu_per_msg')!;
    assert.equal(cpu.pass, false, JSON.stringify(cpu));
  });
});
