// The USL across processes of this box: gateway CPU per acknowledged message
// with 1, 2 and 4 gateway processes under the same load, one chat node behind
// them, and the fit of sigma and kappa (tools/capacity-model/process-scaling.ts)
// the capacity model uses to size a many-core node (--profile, hardware.ts).
// The fit uses the counts up to this box's cores (a count above them measures
// processes time-sharing cores); the fit over every count is printed and kept too.
// CPU per message at a fixed total load also charges each process's fixed
// cost (timers, pings, GC) to fewer messages as N grows: sigma is an upper bound.
//
// Usage: node dist/bench/process-scaling.js [--processes 1,2,4] [--rounds 1] [--duration 40] [--warmup 15]
//          [--scenario smoke] [--scale 1] [--json out.json]
//
// Each round runs the scenario through `loadgen run --topology <N>x1` (etcd,
// Redis, HAProxy in front of N gateways, one chat node: deploy/topology.ts),
// the process counts in alternating order. From each run's timeline, past the
// first --warmup seconds (V8 warm-up is a cost per process, not per message):
// the CPU seconds of the gateway processes and the acknowledged sends.
// Conditions printed with the figures: this box has 2 cores and the load
// generator, the chat node and the services share them, so 4 gateways share
// cores; the figures are the cost of more processes on one box, not a node's
// capacity.
import { availableParallelism, loadavg } from 'node:os';
import { TOPOLOGY_LIMITS } from '../deploy/topology';
import { fitProcessScaling } from '../tools/capacity-model/process-scaling';
import type { ProcessScalingSide } from '../tools/capacity-model/bench-run';
import { takeJsonFlag, writeBenchJson } from './bench-json';
import { runTopology, steadyWindow } from './topology-run';

interface Args {
  processes: number[];
  rounds: number;
  duration: number;
  warmup: number;
  scenario: string;
  scale: number;
}

/** Setup of a topology (etcd, Redis, HAProxy, N gateways, a chat node) on a loaded box, beyond the run itself. */
const RUN_SETUP_TIMEOUT_S = 180;

function parse(argv: string[]): Args {
  const a: Args = { processes: [1, 2, 4], rounds: 1, duration: 40, warmup: 15, scenario: 'smoke', scale: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '');
    const raw = argv[i + 1] ?? '';
    if (key === 'processes') {
      a.processes = raw.split(',').map(Number);
      if (!a.processes.includes(1) || a.processes.length < 2 || a.processes.some((n) => !Number.isInteger(n) || n < 1 || n > TOPOLOGY_LIMITS.gateways_max)) {
        throw new Error(`--processes ${raw}: a list with 1 and at least one more, each within 1..${TOPOLOGY_LIMITS.gateways_max}`);
      }
    } else if (key === 'scenario') {
      if (!/^[a-z0-9-]+$/.test(raw)) throw new Error(`--scenario ${raw}: a name from scenarios/`);
      a.scenario = raw;
    } else if (key === 'scale') {
      a.scale = Number(raw);
      if (!(a.scale > 0 && a.scale <= 10)) throw new Error(`--scale ${raw}: 0 < scale <= 10`);
    } else if (key === 'rounds' || key === 'duration' || key === 'warmup') {
      const v = Number(raw);
      if (!Number.isInteger(v) || v < (key === 'warmup' ? 0 : 1)) throw new Error(`--${key} ${raw}: a whole number`);
      a[key] = v;
    } else {
      throw new Error(`unknown flag ${argv[i]}`);
    }
  }
  if (a.rounds > 10 || a.duration > 300) throw new Error('--rounds <= 10, --duration <= 300');
  if (a.warmup + 5 > a.duration) throw new Error(`--warmup ${a.warmup}: leave at least 5 s of --duration ${a.duration} to measure`);
  return a;
}

async function runOnce(a: Args, processes: number): Promise<{ ok: number; cpu: number }> {
  const topology = `${processes}x1`;
  const s = await runTopology({ scenario: a.scenario, topology, durationS: a.duration, scale: a.scale, setupTimeoutS: RUN_SETUP_TIMEOUT_S });
  const { ok, cpuS } = steadyWindow(s, a.warmup, topology);
  const gateways = [...cpuS.keys()].filter((name) => name.startsWith('gateway'));
  if (gateways.length !== processes) throw new Error(`--topology ${topology}: CPU of ${gateways.length} gateway process(es) in the timeline, expected ${processes}`);
  return { ok, cpu: gateways.reduce((sum, name) => sum + cpuS.get(name)!, 0) };
}

async function main(): Promise<void> {
  const { json, rest } = takeJsonFlag(process.argv.slice(2));
  const a = parse(rest);
  const totals = new Map(a.processes.map((n) => [n, { ok: 0, cpu: 0 }]));
  for (let r = 0; r < a.rounds; r++) {
    const order = r % 2 === 0 ? a.processes : [...a.processes].reverse();
    for (const n of order) {
      const f = await runOnce(a, n);
      const t = totals.get(n)!;
      t.ok += f.ok;
      t.cpu += f.cpu;
      console.log(`round ${r + 1} ${n} gateway process(es): ${f.ok} acknowledged, gateway CPU ${f.cpu.toFixed(2)} s: ${((f.cpu / f.ok) * 1e6).toFixed(1)} us/msg`);
    }
  }
  const sides: ProcessScalingSide[] = a.processes.map((n) => {
    const t = totals.get(n)!;
    return { processes: n, topology: `${n}x1`, acked: t.ok, cpu_tier_s: t.cpu, cpu_tier_us_per_msg: (t.cpu / t.ok) * 1e6 };
  });
  const cores = availableParallelism();
  const points = sides.map((s) => ({ processes: s.processes, cpu_us_per_msg: s.cpu_tier_us_per_msg }));
  const all = fitProcessScaling(points);
  // More processes than cores time-share them: that point measures the scheduler, not contention. Fit without it when we can.
  const within = points.filter((p) => p.processes <= cores);
  const fit = within.length >= 2 ? fitProcessScaling(within) : all;
  const fitted = (within.length >= 2 ? within : points).map((p) => p.processes);
  console.log(`\n${a.scenario} --scale ${a.scale}, ${a.duration} s x ${a.rounds} round(s) per process count, first ${a.warmup} s not counted ` +
    `(${new Date().toISOString()}, ${availableParallelism()} cores shared with the generator and every server, load avg ${loadavg().map((x) => x.toFixed(1)).join(' ')}):`);
  sides.forEach((s, i) => console.log(`  ${s.processes} gateway process(es): ${s.cpu_tier_us_per_msg.toFixed(1)} us gateway CPU per message (x${all.inflation[i]!.toFixed(2)} of 1)`));
  console.log(`  USL over processes, fitted on ${fitted.join(', ')} (at most the ${cores} cores): sigma ${fit.sigma.toPrecision(3)}, kappa ${fit.kappa.toPrecision(3)}`);
  console.log(`  over every count (more processes than cores share them): sigma ${all.sigma.toPrecision(3)}, kappa ${all.kappa.toPrecision(3)}`);
  if (json) {
    writeBenchJson(json, 'process-scaling', {
      tier: 'gateway', scenario: a.scenario, scale: a.scale, duration_s: a.duration, warmup_s: a.warmup, rounds: a.rounds, sides,
      fitted_processes: fitted, sigma: fit.sigma, kappa: fit.kappa, sigma_all: all.sigma, kappa_all: all.kappa,
    });
  }
}

main().catch((err) => {
  console.error(`process-scaling bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
