// The deterministic A/B performance gate (docs/perf-gate.md): the baseline ref
// built in its own worktree (./baseline-tree.ts) and the candidate (this
// checkout's dist/, copied beside it: ./built-copy.ts) each run the fixed in-process workload under callgrind
// (./callgrind.ts), interleaved A B A B ..., and instructions per message are
// judged within the run (./instr-verdict.ts). When no baseline ref can be
// built, the committed file results/baselines/perf-gate-instr.json is the
// baseline instead, and the verdict says so.
//
//   node dist/tools/perf-gate/instr-gate.js [--baseline-ref REF] [--runs 2] [--messages 2000] [--warmup 5000]
//        [--bound-pct 2] [--slowdown-chat-pct P] [--slowdown-gateway-pct P] [--no-ab]
//        [--baseline-file F] [--accepted F] [--budget-s 900] [--out DIR]
//   node dist/tools/perf-gate/instr-gate.js --record [--runs 3]   (refresh the fallback file, then commit it)
//
// --slowdown-*-pct is the test aid WA_DEBUG_SLOWDOWN_WORK on the candidate
// side only, sized as a percentage of the baseline's instructions per message.
// Exit codes: 0 pass, 1 regression, 2 cannot judge.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../server/common/paths';
import { gitCommit, machineInfo } from './baseline';
import { buildBaselineTree, defaultBaselineRef, type BaselineTree } from './baseline-tree';
import { copyBuiltTree, copyDriver } from './built-copy';
import { countInstructions, type InstrSample } from './callgrind';
import { INSTR_GATE, INSTR_WORKLOAD } from './instr-config';
import { judgeInstr, readAccepted, renderInstrTable, spreadPct } from './instr-verdict';
import { median } from '../../lib/regression-stats';

const EXIT_PASS = 0;
const EXIT_REGRESSION = 1;
const EXIT_CANNOT_JUDGE = 2;
export const INSTR_BASELINE_FILE = join(REPO_ROOT, 'results', 'baselines', 'perf-gate-instr.json');
export const ACCEPTED_FILE = join(REPO_ROOT, 'results', 'baselines', 'accepted-regressions.json');
/** 2: main thread only, GC flags, 5,000 warm-up (tools/perf-gate/callgrind.ts); a version-1 file counted something else. */
const FILE_VERSION = 2;

interface InstrBaselineFile {
  version: number;
  commit: string;
  recorded_at: string;
  messages: number;
  warmup: number;
  machine: ReturnType<typeof machineInfo>;
  samples: InstrSample[];
}

class UsageError extends Error {}

function num(v: string | undefined, name: string, dflt: number, min: number, max: number, integer = true): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(`--${name} ${v}: must be ${integer ? 'an integer ' : ''}within ${min}..${max}`);
  }
  return n;
}

function log(line: string): void {
  console.log(`perf-gate-instr: ${line}`);
}

function uptimeLine(): string {
  return `load average ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
}

/** Commits in base..HEAD (the change being judged); [] when git cannot say. */
function changeCommits(base: string): string[] {
  try {
    return execFileSync('git', ['rev-list', '--max-count=10000', `${base}..HEAD`], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'baseline-ref': { type: 'string' }, runs: { type: 'string' }, messages: { type: 'string' }, warmup: { type: 'string' },
      'bound-pct': { type: 'string' }, 'slowdown-chat-pct': { type: 'string' }, 'slowdown-gateway-pct': { type: 'string' },
      'no-ab': { type: 'boolean' }, 'baseline-file': { type: 'string' }, accepted: { type: 'string' },
      'budget-s': { type: 'string' }, out: { type: 'string' }, record: { type: 'boolean' },
    },
  });
  const G = INSTR_GATE;
  const runs = num(values.runs, 'runs', G.runs, 1, G.runs_max);
  const messages = num(values.messages, 'messages', INSTR_WORKLOAD.messages, 100, INSTR_WORKLOAD.messages_max);
  const warmup = num(values.warmup, 'warmup', INSTR_WORKLOAD.warmup, 0, INSTR_WORKLOAD.messages_max);
  const boundPct = num(values['bound-pct'], 'bound-pct', G.bound_pct, 0.1, 50, false);
  const chatPct = num(values['slowdown-chat-pct'], 'slowdown-chat-pct', 0, 0, G.slowdown_pct_max, false);
  const gatewayPct = num(values['slowdown-gateway-pct'], 'slowdown-gateway-pct', 0, 0, G.slowdown_pct_max, false);
  const budgetMs = num(values['budget-s'], 'budget-s', G.budget_s, 60, 7200) * 1000;
  const baselineFile = values['baseline-file'] ?? INSTR_BASELINE_FILE;
  const acceptedFile = values.accepted ?? ACCEPTED_FILE;
  const started = Date.now();
  if (!existsSync(join(REPO_ROOT, 'dist', 'tools', 'perf-gate', 'instr-workload.js'))) throw new UsageError('dist/ missing: build first (npx tsc -p tsconfig.json)');
  if (values.record && (chatPct || gatewayPct)) throw new UsageError('a baseline is never recorded with the slowdown aid');
  // The candidate runs from a copy at a path shaped like the baseline worktree's, the driver from a directory of its own (./built-copy.ts says why).
  const cand = copyBuiltTree(REPO_ROOT);
  const drv = copyDriver(REPO_ROOT);
  let tree: BaselineTree | null = null;
  process.once('exit', () => { cand.remove(); drv.remove(); });
  // A CI timeout or Ctrl-C must not leave the worktree registered in the repository, nor the copy behind.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      tree?.remove();
      cand.remove();
      drv.remove();
      process.exit(EXIT_CANNOT_JUDGE);
    });
  }
  const driver = join(drv.dir, 'instr-workload.js');
  const measure = (root: string, chatWork: number, gatewayWork: number): Promise<InstrSample> =>
    countInstructions({ root, driver, messages, warmup, chatWork, gatewayWork, timeoutMs: G.run_timeout_ms });

  if (values.record) {
    const samples: InstrSample[] = [];
    for (let i = 0; i < runs; i++) samples.push(await measure(cand.dir, 0, 0));
    const rec: InstrBaselineFile = { version: FILE_VERSION, commit: gitCommit(), recorded_at: new Date().toISOString(), messages, warmup, machine: machineInfo(), samples };
    mkdirSync(dirname(baselineFile), { recursive: true });
    writeFileSync(baselineFile, JSON.stringify(rec, null, 1) + '\n');
    log(`recorded ${baselineFile}: chat ${Math.round(median(samples.map((s) => s.chat)))} instr/msg, gateway ${Math.round(median(samples.map((s) => s.gateway)))} instr/msg`);
    return EXIT_PASS;
  }

  // A: a built baseline tree, else the committed file.
  let fileSamples: InstrSample[] | null = null;
  let baseDesc: string;
  let baseCommit: string;
  const wanted = values['baseline-ref'] ? { ref: values['baseline-ref'], why: '--baseline-ref' } : defaultBaselineRef(REPO_ROOT);
  const refusal = values['no-ab'] ? '--no-ab' : wanted.ref === null ? wanted.why : null;
  const built = refusal ? refusal : buildBaselineTree(REPO_ROOT, wanted.ref!, G.build_timeout_ms, log);
  if (typeof built !== 'string') {
    tree = built;
    baseCommit = built.commit;
    baseDesc = `baseline ${built.commit.slice(0, 12)} (${wanted.why}) built beside the candidate: A/B on this machine`;
  } else {
    log(`FALLBACK: no baseline build (${built}); judging against the committed file ${baselineFile}`);
    if (!existsSync(baselineFile)) {
      log(`cannot judge: no baseline build and no ${baselineFile}`);
      return EXIT_CANNOT_JUDGE;
    }
    const rec = JSON.parse(readFileSync(baselineFile, 'utf8')) as InstrBaselineFile;
    if (rec.version !== FILE_VERSION || rec.messages !== messages || rec.warmup !== warmup || !Array.isArray(rec.samples) || rec.samples.length === 0) {
      log(`cannot judge: ${baselineFile} was recorded with another configuration (version ${rec.version}, --messages ${rec.messages}, --warmup ${rec.warmup})`);
      return EXIT_CANNOT_JUDGE;
    }
    fileSamples = rec.samples;
    baseCommit = rec.commit.replace(/\+dirty$/, '');
    baseDesc = `FALLBACK baseline: the committed file (commit ${rec.commit.slice(0, 12)}, recorded ${rec.recorded_at}), not a build of the code before the change`;
  }

  const a: InstrSample[] = [];
  const b: InstrSample[] = [];
  let chatWork = 0;
  let gatewayWork = 0;
  const sizeAid = (ref: InstrSample): void => {
    chatWork = Math.round((chatPct / 100) * ref.chat / ref.unit);
    gatewayWork = Math.round((gatewayPct / 100) * ref.gateway / ref.unit / INSTR_WORKLOAD.gateway_frames_per_msg);
    if (chatPct || gatewayPct) log(`test aid on the candidate: chat ${chatWork} work units/msg (${chatPct}%), gateway ${gatewayWork} units/frame (${gatewayPct}%); 1 unit = ${Math.round(ref.unit)} instructions`);
  };
  let exhausted = false;
  try {
    if (fileSamples) {
      a.push(...fileSamples);
      sizeAid(fileSamples[0]!);
    }
    log(`${baseDesc}; ${runs} run(s) per side, ${messages} messages each after ${warmup} warm-up; ${uptimeLine()}`);
    for (let i = 0; i < runs; i++) {
      if (tree) {
        a.push(await measure(tree.dir, 0, 0));
        log(`A run ${i + 1}: chat ${a.at(-1)!.chat.toFixed(1)}, gateway ${a.at(-1)!.gateway.toFixed(1)} instr/msg (${(a.at(-1)!.wall_ms / 1000).toFixed(0)} s)`);
        if (i === 0) sizeAid(a[0]!);
      }
      b.push(await measure(cand.dir, chatWork, gatewayWork));
      log(`B run ${i + 1}: chat ${b.at(-1)!.chat.toFixed(1)}, gateway ${b.at(-1)!.gateway.toFixed(1)} instr/msg (${(b.at(-1)!.wall_ms / 1000).toFixed(0)} s)`);
      if (Date.now() - started > budgetMs * 0.75 && i + 1 < runs) {
        exhausted = true;
        log(`time budget ${budgetMs / 1000} s nearly spent: judging ${i + 1} run(s) per side`);
        break;
      }
    }
  } finally {
    tree?.remove();
  }

  const verdicts = judgeInstr(a, b, boundPct, G.spread_max_pct, readAccepted(acceptedFile), changeCommits(baseCommit));
  const table = renderInstrTable(verdicts);
  const header = `perf gate (instructions, callgrind): ${gitCommit().slice(0, 12)} vs ${baseDesc}; ${a.length} vs ${b.length} runs; ${uptimeLine()}` +
    (chatWork || gatewayWork ? `; test aid WA_DEBUG_SLOWDOWN_WORK chat=${chatWork} gateway=${gatewayWork}` : '') +
    `; work unit ${Math.round(median(b.map((s) => s.unit)))} instr (spread ${spreadPct(b.map((s) => s.unit)).toFixed(4)}%)`;
  const noisy = verdicts.some((v) => v.verdict === 'NOISY');
  const failed = verdicts.some((v) => v.verdict === 'FAIL');
  const result = failed ? 'FAIL' : noisy ? 'CANNOT JUDGE' : 'PASS';
  console.log(`\n${header}\n\n${table}\n\nperf gate (instructions): ${result}${exhausted ? ' (time budget: fewer runs than asked)' : ''} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (values.out) {
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, 'instr-verdict.txt'), `${header}\n\n${table}\n`);
    writeFileSync(join(values.out, 'instr-verdict.json'), JSON.stringify({ header, result, fallback: !tree, chat_work: chatWork, gateway_work: gatewayWork, a, b, verdicts }, null, 1) + '\n');
  }
  return failed ? EXIT_REGRESSION : noisy ? EXIT_CANNOT_JUDGE : EXIT_PASS;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
  console.error(`perf-gate-instr: ${err instanceof UsageError ? '' : 'failed: '}${err instanceof Error ? err.message : String(err)}`);
  process.exit(EXIT_CANNOT_JUDGE);
});
