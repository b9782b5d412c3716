// The deterministic gate's workload (tools/perf-gate/instr-workload.ts) counted
// under callgrind for two built trees side by side, with any warm-up: how
// much of a figure is the JIT and how much the steady path. The gate warms up
// 5,000 messages and counts the next 2,000; before 2026-12-06 it warmed up
// 500, and with --predictable V8 compiles on the main thread, so its figures
// were mostly tiering and TurboFan compiles, and a trivial code change could
// move them by several % (docs/design/024-hand-codecs.md, docs/perf-gate.md).
// `--warmup 500` shows that cost; `--warmup 20000` checks that 5,000 reached
// the steady path. This bench is for explaining a gate figure, not a gate.
//
// Usage: node dist/bench/instr-steady-state.js --baseline-root DIR [--root DIR] [--warmup 5000] [--messages 10000]
// (DIR: a tree with dist/ built, e.g. a detached worktree of main). Bounded: --warmup, --messages <= 20,000 (the workload's bound).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { countInstructions, type InstrSample } from '../tools/perf-gate/callgrind';
import { copyBuiltTree, copyDriver } from '../tools/perf-gate/built-copy';
import { REPO_ROOT } from '../server/common/paths';

const COUNT_MAX = 20_000;
const RUN_TIMEOUT_MS = 20 * 60_000;

function count(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > COUNT_MAX) throw new Error(`--${name} must be an integer in 1..${COUNT_MAX} (got ${v})`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'baseline-root': { type: 'string' }, root: { type: 'string', default: REPO_ROOT },
      warmup: { type: 'string', default: '5000' }, messages: { type: 'string', default: '10000' },
    },
  });
  if (!values['baseline-root']) throw new Error('--baseline-root DIR (a tree with dist/ built) is required');
  const warmup = count(values.warmup!, 'warmup');
  const messages = count(values.messages!, 'messages');
  const sides = [{ name: 'baseline (A)', root: resolve(values['baseline-root']) }, { name: 'candidate (B)', root: resolve(values.root!) }];
  // Both sides run from copies at sibling paths of one shape, as in the gate (tools/perf-gate/built-copy.ts: where the code lives moves the count).
  const copies = [copyBuiltTree(sides[0]!.root, 'perf-gate-base-'), copyBuiltTree(sides[1]!.root, 'perf-gate-cand-')];
  const drv = copyDriver(REPO_ROOT);
  copies.push(drv);
  const driver = resolve(drv.dir, 'instr-workload.js');
  const samples: InstrSample[] = [];
  try {
    for (const c of copies.slice(0, 2)) {
      samples.push(await countInstructions({ root: c.dir, driver, messages, warmup, chatWork: 0, gatewayWork: 0, timeoutMs: RUN_TIMEOUT_MS }));
    }
  } finally {
    for (const c of copies) c.remove();
  }
  console.log(`instructions per message after ${warmup} warm-up messages, ${messages} counted (callgrind, the gate's workload and flags)`);
  for (const metric of ['chat', 'gateway'] as const) {
    const [a, b] = samples.map((x) => x[metric]);
    console.log(`${`${metric}_instr_per_msg`.padEnd(24)} A ${a!.toFixed(0).padStart(9)}  B ${b!.toFixed(0).padStart(9)}  ratio ${(b! / a!).toFixed(4)}`);
  }
  for (const [i, s] of sides.entries()) console.log(`${s.name}: ${s.root} (${(samples[i]!.wall_ms / 1000).toFixed(0)} s)`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
