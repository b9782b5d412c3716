// The coordination overhead of the chat tier: server CPU per message with one
// chat node vs several, same load, side by side in one run.
//
// Usage: node dist/bench/coordination.js [--nodes 3] [--rounds 2] [--duration 40] [--warmup 15] [--scenario smoke] [--scale 1]
//          [--store sqlite|cassandra] [--json out.json]
// (--scale defaults to 1, and to 0.06 with --store cassandra: CASSANDRA_SCALE_DEFAULT says why)
//
// Each round runs the scenario (scenarios/<name>.ts through `loadgen run`) on
// topology 1x1 and on 1x<nodes> (etcd, Redis, HAProxy, one gateway, chat
// nodes on one shared SQLite file: deploy/topology.ts), alternating which goes
// first. With --store cassandra the chat nodes use a local 3-node Cassandra
// cluster (RF=3, LOCAL_QUORUM) started once for the whole bench and reused by
// every run (`loadgen run --store cassandra --cassandra-cluster DIR`; each run
// gets a fresh keyspace, dropped at its end); the cluster is wiped at the end.
// The three Cassandra JVMs' CPU over each measured window is counted apart
// (summary.json's cassandra-0..2): the store tier is shared, the same whatever
// the number of chat nodes, and includes its own background work (gossip,
// compaction, GC), so it is not in the all-process figure. From each run's
// timeline, past the first --warmup seconds: the CPU seconds of every server
// process (chat nodes, gateway, etcd, Redis, HAProxy) and the acknowledged
// sends. The warm-up is left out because it is a cost per process, not per
// message: at a third of the load each of 3 nodes spends its first seconds in
// V8's compiler and baseline code (perf, 2026-12-06: compiler 12% of the chat
// nodes' samples on 1x3 vs 0.7% on 1x1, 12-27 s into a run), which a
// long-running fleet pays once. Printed: CPU µs per acknowledged message per topology
// (all processes, and chat nodes alone), and the ratio 1-node / N-node (1.0: no
// overhead; the issue's goal is >= 0.9). The generator shares the 2 cores:
// the figures are a ratio on one box, not capacity. --json writes them for the
// capacity model (kind 'coordination', bench/bench-json.ts).
import { startLocalCluster, killLocalClusterSync, wipeLocalCluster, type LocalCluster } from '../deploy/cassandra-node';
import { STORES, type Store } from './store-flag';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { takeJsonFlag, writeBenchJson } from './bench-json';
import { runTopology, steadyWindow } from './topology-run';

interface Args {
  nodes: number;
  rounds: number;
  duration: number;
  scenario: string;
  /** The scenario's --scale (its rate and users times this). */
  scale: number;
  store: Store;
  /** Seconds at the start of each run's measured window that are not counted (JIT warm-up). */
  warmup: number;
}

/**
 * --scale when --store cassandra and none is given: smoke at 60 msg/s. Three JVMs share the 2 cores with
 * everything else: at 200 msg/s a run on this box acknowledged 6% of its sends (load average 11-18),
 * at 1,000 (smoke's --scale 1) one message; at 60 every send (2026-12-06). A saturated run has no CPU per message.
 */
const CASSANDRA_SCALE_DEFAULT = 0.06;

function parse(argv: string[]): Args {
  const a: Args = { nodes: 3, rounds: 2, duration: 40, scenario: 'smoke', scale: 0, store: 'sqlite', warmup: 15 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i]!.replace(/^--/, '') as keyof Args;
    const raw = argv[i + 1] ?? '';
    if (key === 'store') {
      if (!STORES.includes(raw as Store)) throw new Error(`--store ${raw}: ${STORES.join(' or ')}`);
      a.store = raw as Store;
      continue;
    }
    if (key === 'warmup') {
      const w = Number(raw);
      if (!(Number.isInteger(w) && w >= 0)) throw new Error(`--warmup ${raw}: whole seconds >= 0`);
      a.warmup = w;
      continue;
    }
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
  if (a.warmup + 5 > a.duration) throw new Error(`--warmup ${a.warmup}: leave at least 5 s of --duration ${a.duration} to measure`);
  if (a.scale === 0) a.scale = a.store === 'cassandra' ? CASSANDRA_SCALE_DEFAULT : 1;
  return a;
}

interface RunFigures {
  ok: number;
  /** Every server process but the Cassandra JVMs. */
  cpuAll: number;
  cpuChat: number;
  /** The Cassandra JVMs (--store cassandra), 0 on SQLite. */
  cpuStore: number;
}

/** A run's setup on Cassandra includes its keyspace (schema agreement on 3 nodes): minutes on a loaded box. */
const RUN_SETUP_TIMEOUT_S = 300;

async function runOnce(args: Args, topology: string, clusterDir: string | null): Promise<RunFigures> {
  const extra = clusterDir ? ['--store', 'cassandra', '--cassandra-cluster', clusterDir] : [];
  const s = await runTopology({ scenario: args.scenario, topology, durationS: args.duration, scale: args.scale, extra, setupTimeoutS: RUN_SETUP_TIMEOUT_S });
  const { ok, cpuS } = steadyWindow(s, args.warmup, topology);
  const f: RunFigures = { ok, cpuAll: 0, cpuChat: 0, cpuStore: 0 };
  for (const [name, cpu] of cpuS) {
    if (name.startsWith('cassandra')) {
      f.cpuStore += cpu;
      continue;
    }
    f.cpuAll += cpu;
    if (name.startsWith('chat')) f.cpuChat += cpu;
  }
  return f;
}

async function rounds(args: Args, clusterDir: string | null): Promise<Record<string, RunFigures>> {
  const many = `1x${args.nodes}`;
  const zero = (): RunFigures => ({ ok: 0, cpuAll: 0, cpuChat: 0, cpuStore: 0 });
  const totals: Record<string, RunFigures> = { '1x1': zero(), [many]: zero() };
  for (let r = 0; r < args.rounds; r++) {
    const order = r % 2 === 0 ? ['1x1', many] : [many, '1x1'];
    for (const topo of order) {
      const f = await runOnce(args, topo, clusterDir);
      const t = totals[topo]!;
      t.ok += f.ok;
      t.cpuAll += f.cpuAll;
      t.cpuChat += f.cpuChat;
      t.cpuStore += f.cpuStore;
      console.log(`round ${r + 1} ${topo}: ${f.ok} acknowledged, server CPU ${f.cpuAll.toFixed(2)} s (chat nodes ${f.cpuChat.toFixed(2)} s): ` +
        `${((f.cpuAll / f.ok) * 1e6).toFixed(0)} µs/msg${clusterDir ? `; Cassandra ${f.cpuStore.toFixed(2)} s, ${((f.cpuStore / f.ok) * 1e6).toFixed(0)} µs/msg` : ''}`);
    }
  }
  return totals;
}

function report(args: Args, json: string | null, totals: Record<string, RunFigures>): void {
  const many = `1x${args.nodes}`;
  const per = (t: RunFigures, cpu: number) => (cpu / t.ok) * 1e6;
  const one = totals['1x1']!;
  const n = totals[many]!;
  const onCassandra = args.store === 'cassandra';
  console.log(`\n${args.scenario} --scale ${args.scale}, ${args.duration} s x ${args.rounds} rounds each, the first ${args.warmup} s of each not counted, store ${onCassandra ? 'Cassandra (3 nodes, RF=3, LOCAL_QUORUM)' : 'shared SQLite'} ` +
    `(${new Date().toISOString()}, load avg ${loadavg().map((x) => x.toFixed(1)).join(' ')}):`);
  const all = onCassandra ? 'server CPU per message without Cassandra' : 'server CPU per message';
  console.log(`  1x1:    ${per(one, one.cpuAll).toFixed(0)} µs ${all} (chat ${per(one, one.cpuChat).toFixed(0)} µs)`);
  console.log(`  ${many}:    ${per(n, n.cpuAll).toFixed(0)} µs ${all} (chat nodes ${per(n, n.cpuChat).toFixed(0)} µs)`);
  console.log(`  ratio 1-node / ${args.nodes}-node: all processes${onCassandra ? ' but Cassandra' : ''} ${(per(one, one.cpuAll) / per(n, n.cpuAll)).toFixed(2)}, ` +
    `chat tier ${(per(one, one.cpuChat) / per(n, n.cpuChat)).toFixed(2)} (goal >= 0.9)`);
  const withStore = onCassandra ? per(one, one.cpuAll + one.cpuStore) / per(n, n.cpuAll + n.cpuStore) : undefined;
  if (onCassandra) {
    console.log(`  Cassandra (3 JVMs, shared by every chat node; their whole CPU over each measured window, background work included): ` +
      `1x1 ${per(one, one.cpuStore).toFixed(0)} µs/msg, ${many} ${per(n, n.cpuStore).toFixed(0)} µs/msg; all processes with Cassandra: ratio ${withStore!.toFixed(2)}`);
  }
  if (json) {
    const side = (topology: string, chatNodes: number, t: RunFigures) => ({
      topology, chat_nodes: chatNodes, acked: t.ok, cpu_all_s: t.cpuAll, cpu_chat_s: t.cpuChat,
      cpu_all_us_per_msg: per(t, t.cpuAll), cpu_chat_us_per_msg: per(t, t.cpuChat),
      ...(onCassandra ? { cpu_store_s: t.cpuStore, cpu_store_us_per_msg: per(t, t.cpuStore) } : {}),
    });
    writeBenchJson(json, 'coordination', {
      scenario: args.scenario, scale: args.scale, duration_s: args.duration, warmup_s: args.warmup, rounds: args.rounds,
      one_node: side('1x1', 1, one), n_nodes: side(many, args.nodes, n),
      ratio_all: per(one, one.cpuAll) / per(n, n.cpuAll), ratio_chat: per(one, one.cpuChat) / per(n, n.cpuChat),
      store: args.store, ...(withStore !== undefined ? { ratio_all_with_store: withStore } : {}),
    });
  }
}

/** --store cassandra: one cluster for every run of the bench, in a temp dir, wiped at the end. */
async function withCluster<T>(store: Store, fn: (clusterDir: string | null) => Promise<T>): Promise<T> {
  if (store === 'sqlite') return fn(null);
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-coord-cassandra-'));
  process.once('exit', () => killLocalClusterSync(dir));
  let cluster: LocalCluster | null = null;
  try {
    cluster = await startLocalCluster({ nodes: 3, dir, log: (l) => console.log(`[cassandra] ${l}`) });
    console.log(`cassandra: 3 nodes up (all UN) in ${(cluster.startMs / 1000).toFixed(1)} s; every run reuses them`);
    return await fn(dir);
  } finally {
    await wipeLocalCluster({ dir }).catch(() => killLocalClusterSync(dir));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { json, rest } = takeJsonFlag(process.argv.slice(2));
  const args = parse(rest);
  const totals = await withCluster(args.store, (clusterDir) => rounds(args, clusterDir));
  report(args, json, totals);
}

main().catch((err) => {
  console.error(`coordination bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
