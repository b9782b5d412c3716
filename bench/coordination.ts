// The coordination overhead of the chat tier: server CPU per message with one
// chat node vs several, same load, side by side in one run.
//
// Usage: node dist/bench/coordination.js [--nodes 3] [--rounds 2] [--duration 20] [--scenario smoke] [--scale 1] [--json out.json]
//
// Each round runs the scenario (scenarios/<name>.ts through `loadgen run`) on
// topology 1x1 and on 1x<nodes> (etcd, Redis, HAProxy, one gateway, chat
// nodes on one shared SQLite file: deploy/topology.ts), alternating which goes
// first. From each run's summary: the CPU seconds of every server process
// over the measured window (chat nodes, gateway, etcd, Redis, HAProxy) and the
// acknowledged sends. Printed: CPU µs per acknowledged message per topology
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
}

function parse(argv: string[]): Args {
  const a: Args = { nodes: 3, rounds: 2, duration: 20, scenario: 'smoke', scale: 1 };
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
    if (!(key in a) || !Number.isInteger(v) || v < 1) throw new Error(`bad flag ${argv[i]} ${raw}`);
    (a as unknown as Record<string, number>)[key] = v;
  }
  if (a.nodes < 2 || a.nodes > 8 || a.rounds > 10 || a.duration > 300) throw new Error('2 <= --nodes <= 8, --rounds <= 10, --duration <= 300');
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
      system: Record<string, { cpu_s: number }>; reports: { sends: { ok: number } };
    };
    let cpuAll = 0;
    let cpuChat = 0;
    for (const [name, p] of Object.entries(s.system)) {
      cpuAll += p.cpu_s;
      if (name.startsWith('chat')) cpuChat += p.cpu_s;
    }
    return { ok: s.reports.sends.ok, cpuAll, cpuChat };
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
  console.log(`\n${args.scenario} --scale ${args.scale}, ${args.duration} s x ${args.rounds} rounds each (load avg ${loadavg()[0]!.toFixed(1)}):`);
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
      scenario: args.scenario, scale: args.scale, duration_s: args.duration, rounds: args.rounds,
      one_node: side('1x1', 1, one), n_nodes: side(many, args.nodes, n),
      ratio_all: per(one, one.cpuAll) / per(n, n.cpuAll), ratio_chat: per(one, one.cpuChat) / per(n, n.cpuChat),
    });
  }
}

main();
