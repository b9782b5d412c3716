// The deterministic (callgrind) perf gate (tools/perf-gate/instr-gate.ts).
// Always: the judgement rule, the accepted-regressions record, and one real
// callgrind count of the workload with a small N (the slowdown aid on the chat
// side moves the chat figure, not the gateway's). With WA_TEST_PERF_GATE_AB=1
// (`make test-perf-gate`, ~4-6 min): the gate end to end against a real
// baseline build (HEAD checked out in its own worktree and built): the
// unchanged candidate passes, the candidate with the aid at 10% of a message's
// cost fails (exit 1) on the chat side and on the gateway side.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { buildBaselineTree, defaultBaselineRef } from '../tools/perf-gate/baseline-tree';
import { callgrindTotal, countInstructions } from '../tools/perf-gate/callgrind';
import { judgeInstr, readAccepted } from '../tools/perf-gate/instr-verdict';
import { REPO_ROOT } from '../server/common/paths';
import { runNode } from './helpers/run-node';

const DRIVER = join(REPO_ROOT, 'dist', 'tools', 'perf-gate', 'instr-workload.js');
const GATE = join(REPO_ROOT, 'dist', 'tools', 'perf-gate', 'instr-gate.js');
const sample = (chat: number, gateway: number) => ({ chat, gateway, unit: 1676, wall_ms: 1 });

describe('perf gate (instructions): the rule', () => {
  test('within the bound passes; past it fails; a spread past the maximum cannot be judged', () => {
    const a = [sample(1000, 500), sample(1000, 500)];
    const pass = judgeInstr(a, [sample(1019, 500), sample(1019, 500)], 2, 0.5, [], []);
    assert.deepEqual(pass.map((v) => v.verdict), ['PASS', 'PASS']);
    const fail = judgeInstr(a, [sample(1000, 511), sample(1000, 511)], 2, 0.5, [], []);
    assert.deepEqual(fail.map((v) => v.verdict), ['PASS', 'FAIL']);
    const noisy = judgeInstr(a, [sample(1000, 500), sample(1010, 500)], 2, 0.5, [], []);
    assert.equal(noisy[0]!.verdict, 'NOISY');
  });

  test('an accepted regression applies only to its commit, its metric and up to its ratio', () => {
    const a = [sample(1000, 500)];
    const b = [sample(1080, 500)];
    const rec = [{ commit: 'abcdef1', metric: 'chat_instr_per_msg' as const, max_ratio: 1.1, why: 'end-to-end encryption checks' }];
    assert.equal(judgeInstr(a, b, 2, 0.5, rec, ['abcdef1234'])[0]!.verdict, 'ACCEPTED');
    assert.equal(judgeInstr(a, b, 2, 0.5, rec, ['1234567'])[0]!.verdict, 'FAIL', 'another change');
    assert.equal(judgeInstr(a, [sample(1150, 500)], 2, 0.5, rec, ['abcdef1234'])[0]!.verdict, 'FAIL', 'past the accepted ratio');
  });

  test('the accepted-regressions file is validated, and the committed one parses', () => {
    const dir = mkdtempSync(join(tmpdir(), 'accepted-'));
    try {
      const f = join(dir, 'a.json');
      writeFileSync(f, JSON.stringify({ accepted: [{ commit: 'abcdef1', metric: 'chat_instr_per_msg', max_ratio: 1.1 }] }));
      assert.throws(() => readAccepted(f), /say why/);
      writeFileSync(f, JSON.stringify({ accepted: [{ commit: 'zz', metric: 'chat_instr_per_msg', max_ratio: 1.1, why: 'long enough reason' }] }));
      assert.throws(() => readAccepted(f), /hex/);
      assert.deepEqual(readAccepted(join(dir, 'missing.json')), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(Array.isArray(readAccepted(join(REPO_ROOT, 'results', 'baselines', 'accepted-regressions.json'))));
  });

  test('callgrind totals are read from a dump', () => {
    assert.equal(callgrindTotal('version: 1\ncmd: node x\npart: 1\nsummary: 99\ntotals: 123456\n'), 123456);
    assert.throws(() => callgrindTotal('nothing'), /totals/);
  });
});

describe('perf gate (instructions): which baseline', () => {
  test('a root commit has no default baseline; after a second commit it is HEAD~1; other dependencies are refused', () => {
    const repo = mkdtempSync(join(tmpdir(), 'gate-repo-'));
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: repo, encoding: 'utf8' }).trim();
    try {
      git('init', '-q', '-b', 'main');
      writeFileSync(join(repo, 'package.json'), JSON.stringify({ dependencies: { a: '1' } }));
      git('add', '.');
      git('commit', '-qm', 'root');
      const root = defaultBaselineRef(repo);
      assert.equal(root.ref, null);
      assert.match(root.why, /no parent/);
      const first = git('rev-parse', 'HEAD');
      writeFileSync(join(repo, 'package.json'), JSON.stringify({ dependencies: { a: '2' } }));
      git('commit', '-qam', 'bump a');
      assert.deepEqual(defaultBaselineRef(repo), { ref: first, why: 'the commit before HEAD (HEAD~1)' });
      const refused = buildBaselineTree(repo, first, 10_000, () => {});
      assert.equal(typeof refused, 'string');
      assert.match(refused as string, /other dependencies/);
      assert.match(buildBaselineTree(repo, 'no-such-ref', 10_000, () => {}) as string, /not a commit/);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});

describe('perf gate (instructions): a real count', () => {
  test('the workload is counted, and the chat-side aid moves the chat figure only', async () => {
    const base = { root: REPO_ROOT, driver: DRIVER, messages: 200, warmup: 100, gatewayWork: 0, timeoutMs: 240_000 };
    const [plain, slowed] = await Promise.all([
      countInstructions({ ...base, chatWork: 0 }),
      countInstructions({ ...base, chatWork: 100 }),
    ]);
    console.log(`# plain ${JSON.stringify(plain)}\n# chat aid 100 units ${JSON.stringify(slowed)}`);
    // Orders of magnitude, not figures: a message costs 10^4..10^7 instructions on each side.
    assert.ok(plain.chat > 1e4 && plain.chat < 1e7, `chat ${plain.chat}`);
    assert.ok(plain.gateway > 1e4 && plain.gateway < 1e7, `gateway ${plain.gateway}`);
    // 100 units per message add ~100 units' instructions to the chat side (JIT tiers differ a little from the probe's).
    const added = (slowed.chat - plain.chat) / plain.unit;
    assert.ok(added > 70 && added < 130, `chat side grew by ${added.toFixed(1)} units per message`);
    assert.ok(Math.abs(slowed.gateway / plain.gateway - 1) < 0.005, `gateway moved by ${((slowed.gateway / plain.gateway - 1) * 100).toFixed(3)}%`);
  });
});

const AB = process.env.WA_TEST_PERF_GATE_AB === '1';

describe('perf gate (instructions): A/B against a real baseline build', { skip: AB ? false : 'set WA_TEST_PERF_GATE_AB=1 (make test-perf-gate): builds HEAD in a worktree, ~4-6 min' }, () => {
  const gate = async (args: string[]) => {
    const out = mkdtempSync(join(tmpdir(), 'instr-gate-'));
    try {
      const r = await runNode(GATE, ['--baseline-ref', 'HEAD', '--runs', '1', '--messages', '1000', '--out', out, ...args], { timeoutMs: 900_000, name: `instr-gate ${args.join(' ')}` });
      console.log(`# instr-gate ${args.join(' ')}: exit ${r.code} in ${(r.ms / 1000).toFixed(0)} s\n${r.stdout.replace(/^/gm, '# ')}`);
      const verdict = JSON.parse(readFileSync(join(out, 'instr-verdict.json'), 'utf8')) as { fallback: boolean; verdicts: { metric: string; verdict: string; ratio: number }[] };
      return { code: r.code, verdict };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };

  test('HEAD built as the baseline beside the unchanged candidate: pass', async () => {
    const { code, verdict } = await gate([]);
    assert.equal(verdict.fallback, false, 'a real baseline build, not the committed file');
    assert.deepEqual(verdict.verdicts.map((v) => v.verdict), ['PASS', 'PASS']);
    assert.equal(code, 0);
  });

  test('the candidate with the chat-side aid at 10% of a message: regression on the chat figure', async () => {
    const { code, verdict } = await gate(['--slowdown-chat-pct', '10']);
    assert.equal(verdict.fallback, false);
    assert.deepEqual(verdict.verdicts.map((v) => v.verdict), ['FAIL', 'PASS']);
    assert.equal(code, 1);
  });

  test('the candidate with the gateway-side aid at 10% of a message: regression on the gateway figure', async () => {
    const { code, verdict } = await gate(['--slowdown-gateway-pct', '10']);
    assert.deepEqual(verdict.verdicts.map((v) => v.verdict), ['PASS', 'FAIL']);
    assert.equal(code, 1);
  });
});
