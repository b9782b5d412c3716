// A throughput ramp for the capacity model: the real system (embedded
// defaults), a warm-up stage that is not recorded, then 1:1 stages of rising
// rate, each with fresh users and a drain between stages so one stage's
// backlog does not leak into the next, and a few stages past the first that
// breaks p99 < target, so the USL fit sees the knee and what lies past it.
// Writes summary.json in run-pairs' shape (adapters/pair-load-summary.ts).
//
//   node dist/tools/capacity-model/ramp.js [--users 200] [--rates 1000,2000,4000,...] [--step-seconds 3]
//     [--warmup-seconds 3] [--past-break 2] [--p99-ms 100] [--out results/<run>]
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../server/common/paths';
import { startSystem } from '../../deploy/local-system';
import { SystemDriver } from '../../loadgen/drivers/system-driver';
import { runPairLoad, type PairLoadResult, type StageResult } from '../../loadgen/engine/pair-load';
import { processCpuSeconds } from '../../lib/proc-cpu';

const STAGES_MAX = 24;
const STEP_SECONDS_MAX = 60;
const DRAIN_GRACE_MS = 3_000;
const USER_BASE_STRIDE = 100_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '200' },
      rates: { type: 'string', default: '1000,2000,4000,6000,8000,10000,12000,14000,16000,20000,24000' },
      'step-seconds': { type: 'string', default: '3' },
      'warmup-seconds': { type: 'string', default: '3' },
      'past-break': { type: 'string', default: '2' },
      'p99-ms': { type: 'string', default: '100' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node dist/tools/capacity-model/ramp.js [--users 200] [--rates 1000,2000,...] [--step-seconds 3] [--warmup-seconds 3] [--past-break 2] [--p99-ms 100] [--out results/<run>]');
    return;
  }
  const users = Number(values.users);
  const rates = values.rates!.split(',').map(Number);
  const stepS = Number(values['step-seconds']);
  const warmupS = Number(values['warmup-seconds']);
  const pastBreak = Number(values['past-break']);
  const p99MsMax = Number(values['p99-ms']);
  if (!Number.isInteger(users) || users < 2 || users % 2 !== 0) throw new Error('--users must be an even number >= 2');
  if (rates.length === 0 || rates.length > STAGES_MAX || !rates.every((r) => Number.isInteger(r) && r > 0)) throw new Error(`--rates: 1..${STAGES_MAX} positive integers`);
  if (!(stepS > 0 && stepS <= STEP_SECONDS_MAX) || !(warmupS >= 0) || !(Number.isInteger(pastBreak) && pastBreak >= 0) || !(p99MsMax > 0)) {
    throw new Error('bad --step-seconds/--warmup-seconds/--past-break/--p99-ms');
  }
  const runId = `${new Date().toISOString().replace(/[:.]/g, '-')}-capacity-ramp`;
  const outDir = values.out ?? join(REPO_ROOT, 'results', runId);

  console.log(`ramp: ${users} users in 1:1 pairs, ${stepS}s stages at ${rates.join(', ')} msgs/s; stop ${pastBreak} stage(s) after p99 >= ${p99MsMax} ms`);
  const sys = await startSystem({});
  const pids = { gateway: sys.gateways[0]!.child.pid!, chat: sys.chat.child.pid! };
  const base = Date.now() % 1_000_000_000;
  let call = 0;
  const driver = () => new SystemDriver({ url: sys.gatewayUrl, secret: sys.secret, transport: 'lean', userBase: base + USER_BASE_STRIDE * call++ });
  const stages: StageResult[] = [];
  let connectMs = 0;
  let errors = 0;
  let closedUnexpectedly = 0;
  let loadgenCpuUs = 0;
  let cpuSeconds: Record<string, number> = {};
  try {
    if (warmupS > 0) {
      console.log(`  warm-up: ${rates[0]} msgs/s for ${warmupS}s (not recorded)`);
      await runPairLoad(driver(), { users, stages: [{ rate: rates[0]!, durationS: warmupS }], graceMs: DRAIN_GRACE_MS });
    }
    const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, processCpuSeconds(pid) ?? 0]));
    let broken = 0;
    for (const rate of rates) {
      const r: PairLoadResult = await runPairLoad(driver(), { users, stages: [{ rate, durationS: stepS }], graceMs: DRAIN_GRACE_MS });
      const s = r.stages[0]!;
      stages.push(s);
      connectMs += r.connectMs;
      errors += r.errors;
      closedUnexpectedly += r.closedUnexpectedly;
      loadgenCpuUs += r.loadgenCpuUs;
      const held = s.latency.p99_ms < p99MsMax && s.lost === 0 && s.duplicated === 0 && s.outOfOrder === 0;
      console.log(`  ${String(rate).padStart(6)} msgs/s: delivered ${s.delivered}/${s.scheduled}, p50 ${s.latency.p50_ms.toFixed(1)} ms, ` +
        `p99 ${s.latency.p99_ms.toFixed(1)} ms, mean ${s.latency.mean_ms.toFixed(1)} ms${held ? '' : '  BROKE'}`);
      broken = held ? 0 : broken + 1; // consecutive: one noisy stage on a shared machine does not end the ramp
      if (broken > pastBreak) break;
    }
    cpuSeconds = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, (processCpuSeconds(pid) ?? 0) - before[k]!]));
  } finally {
    await sys.stop();
  }
  const result: PairLoadResult = { driver: 'system', users, connectMs, stages, errors, closedUnexpectedly, loadgenCpuUs };
  mkdirSync(outDir, { recursive: true });
  const summary = {
    run_id: runId, scenario: 'capacity-ramp', started_by: `node dist/tools/capacity-model/ramp.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { hostname: hostname(), cpus: cpus().length, node: process.version },
    options: { users, rates, step_s: stepS, warmup_s: warmupS, past_break: pastBreak, p99_ms_max: p99MsMax, message_bytes: 100, transport: 'lean' },
    result, cpu_seconds: cpuSeconds,
  };
  writeFileSync(join(outDir, 'summary.json'), JSON.stringify(summary, null, 2));
  console.log(`results: ${join(outDir, 'summary.json')}`);
}

main().catch((err) => {
  console.error(`ramp failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
