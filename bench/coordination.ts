// The coordination overhead of the chat tier: server CPU per message with one
// chat node vs several, same load, side by side in one run.
//
// Usage: node dist/bench/coordination.js [--nodes 3] [--rounds 2] [--duration 40] [--warmup 15] [--scenario smoke] [--scale 1] [--json out.json]
//
// Each round runs the scenario (scenarios/<name>.ts through `loadgen run`) on
// topology 1x1 and on 1x<nodes> (etcd, Redis, HAProxy, one gateway, chat
// nodes on one shared SQLite file: deploy/topology.ts), alternating which goes
// first. From each run's timeline, past the first --warmup seconds: the CPU
// seconds of every server process (chat nodes, gateway, etcd, Redis, HAProxy)
// and the acknowledged sends. The warm-up is left out because it is a cost per
// process, not per message: at a third of the load each of 3 nodes spends its
// first seconds in V8's compiler and baseline code (perf, 2026-12-06: compiler
// 12% of the chat nodes' samples on 1x3 vs 0.7% on 1x1, 12-27 s into a run),
// which a long-running fleet pays once. Printed: CPU µs per acknowledged message per topology
// (all processes, and chat nodes alone), and the ratio 1-node / N-node (1.0: no
// overhead; the goal is >= 0.9). The generator shares the 2 cores:
// the figures are a ratio on one box, not capacity. --json writes them for the
// capacity model (kind 'coordination', bench/bench-json.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { takeJsonFlag, writeBenchJson } from './bench-json';

interface Args {
  nodes: number;
  rounds: number;
  duration: number;
  scenario: string;
  /** The scenario's --scale (its rate and users times this). */
  scale: number;
  /** Seconds at the start of each run's measured window that are not counted (JIT warm-up). */
  warmup: number;
}

function parse(argv: string[]): Args {
  const a: Args = { nodes: 3, rounds: 2, duration: 40, scenario: 'smoke', scale: 1, warmup: 15 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '') as keyof Args;
    const raw = argv[i + 1] ?? '';
    if (key === 'scenario') {
      if (!/^[a-z0-9-]+$/.test(raw)) throw new Error(`--scenario ${raw}: a name from scenarios/`);
      a.scenario = raw;
      continue;
    }
    const v = Number(raw);
    if (key === 'scale') {
      if (!(v > 0 && v <= 10)) throw new Error(`--scale ${raw}: 0 < scale <= 10`);
      a.scale = v;
      continue;
    }
    if (key === 'warmup') {
      if (!(Number.isInteger(v) && v >= 0)) throw new Error(`--warmup ${raw}: whole seconds >= 0`);
      a.warmup = v;
      continue;
    }
    if (!(key in a) || !Number.isInteger(v) || v < 1) throw new Error(`bad flag ${argv[i]} ${raw}`);
    (a as unknown as Record<string, number>)[key] = v;
  }
  if (a.nodes < 2 || a.nodes > 8 || a.rounds > 10 || a.duration > 300) throw new Error('2 <= --nodes <= 8, --rounds <= 10, --duration <= 300');
  if (a.warmup + 5 > a.duration) throw new Error(`--warmup ${a.warmup}: leave at least 5 s of --duration ${a.duration} to measure`);
  return a;
}

interface RunFigures {
  ok: number;
  cpuAll: number;
  cpuChat: number;
}

function runOnce(args: Args, topology: string): RunFigures {
  const out = mkdtempSync(join(tmpdir(), 'wa-coord-'));
  try {
    const cli = join(__dirname, '..', 'loadgen', 'commands', 'cli.js');
    const scenario = join(__dirname, '..', '..', 'scenarios', `${args.scenario}.ts`);
    const r = spawnSync(process.execPath, [cli, 'run', scenario, '--topology', topology, '--duration', `${args.duration}s`, '--scale', String(args.scale),
      '--quiet', '--metrics-port', 'off', '--out', out], { encoding: 'utf8', timeout: (args.duration + 120) * 1000 });
    if (r.status !== 0 && r.status !== 99) throw new Error(`loadgen run --topology ${topology} exited ${r.status}: ${(r.stderr ?? '').slice(-1500)}`);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      plan: { windowMs: number };
      timeline: { t_s: number; counters: Record<string, number>; system_cpu_s?: Record<string, number> }[];
    };
    let ok = 0;
    let cpuAll = 0;
    let cpuChat = 0;
    // The steady part: past the warm-up, up to the end of the scheduled window (the grace after it is drain-out).
    for (const rec of s.timeline) {
      if (rec.t_s <= args.warmup || rec.t_s > s.plan.windowMs / 1000) continue;
      if (!rec.system_cpu_s) throw new Error(`the run's timeline has no system_cpu_s at ${rec.t_s} s`);
      ok += rec.counters.sends_ok ?? 0;
      for (const [name, cpuS] of Object.entries(rec.system_cpu_s)) {
        cpuAll += cpuS;
        if (name.startsWith('chat')) cpuChat += cpuS;
      }
    }
    if (ok === 0) throw new Error(`--topology ${topology}: no acknowledged send past the ${args.warmup} s warm-up`);
    return { ok, cpuAll, cpuChat };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function main(): void {
  const { json, rest } = takeJsonFlag(process.argv.slice(2));
  const args = parse(rest);
  const many = `1x${args.nodes}`;
  const totals: Record<string, RunFigures> = { '1x1': { ok: 0, cpuAll: 0, cpuChat: 0 }, [many]: { ok: 0, cpuAll: 0, cpuChat: 0 } };
  for (let r = 0; r < args.rounds; r++) {
    const order = r % 2 === 0 ? ['1x1', many] : [many, '1x1'];
    for (const topo of order) {
      const f = runOnce(args, topo);
      const t = totals[topo]!;
      t.ok += f.ok;
      t.cpuAll += f.cpuAll;
      t.cpuChat += f.cpuChat;
      console.log(`round ${r + 1} ${topo}: ${f.ok} acknowledged, server CPU ${f.cpuAll.toFixed(2)} s (chat nodes ${f.cpuChat.toFixed(2)} s): ` +
        `${((f.cpuAll / f.ok) * 1e6).toFixed(0)} µs/msg`);
    }
  }
  const per = (t: RunFigures, cpu: number) => (cpu / t.ok) * 1e6;
  const one = totals['1x1']!;
  const n = totals[many]!;
  console.log(`\n${args.scenario} --scale ${args.scale}, ${args.duration} s x ${args.rounds} rounds each, the first ${args.warmup} s of each not counted (load avg ${loadavg()[0]!.toFixed(1)}):`);
  console.log(`  1x1:    ${per(one, one.cpuAll).toFixed(0)} µs server CPU per message (chat ${per(one, one.cpuChat).toFixed(0)} µs)`);
  console.log(`  ${many}:    ${per(n, n.cpuAll).toFixed(0)} µs server CPU per message (chat nodes ${per(n, n.cpuChat).toFixed(0)} µs)`);
  console.log(`  ratio 1-node / ${args.nodes}-node: all processes ${(per(one, one.cpuAll) / per(n, n.cpuAll)).toFixed(2)}, ` +
    `chat tier ${(per(one, one.cpuChat) / per(n, n.cpuChat)).toFixed(2)} (goal >= 0.9)`);
  if (json) {
    const side = (topology: string, chatNodes: number, t: RunFigures) => ({
      topology, chat_nodes: chatNodes, acked: t.ok, cpu_all_s: t.cpuAll, cpu_chat_s: t.cpuChat,
      cpu_all_us_per_msg: per(t, t.cpuAll), cpu_chat_us_per_msg: per(t, t.cpuChat),
    });
    writeBenchJson(json, 'coordination', {
      scenario: args.scenario, scale: args.scale, duration_s: args.duration, warmup_s: args.warmup, rounds: args.rounds,
      one_node: side('1x1', 1, one), n_nodes: side(many, args.nodes, n),
      ratio_all: per(one, one.cpuAll) / per(n, n.cpuAll), ratio_chat: per(one, one.cpuChat) / per(n, n.cpuChat),
    });
  }
}

main();
