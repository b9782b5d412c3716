// Failover: how long a dead chat node's partitions go unserved, over several
// kills, with a probe load running.
//
// Usage: node dist/bench/failover.js [--kills 5] [--chats 3] [--lease 2] [--probes 24] [--store sqlite|cassandra] [--json out.json]
//
// One topology (1 gateway, --chats chat nodes on a shared SQLite file, or with
// --store cassandra on a local 3-node Cassandra cluster started once for the
// bench, RF=3, LOCAL_QUORUM, wiped at the end; etcd, Redis, HAProxy:
// deploy/topology.ts). --probes pairs of users send to each
// other every 50 ms through HAProxy (ChatClient, reconnecting after a close,
// resending an unacknowledged message with the same client_msg_id). Then, --kills
// times: kill -9 a chat node (in turn), and measure
//   - served again: kill -> the gateway reports every partition routable again
//     (its /healthz, polled every 25 ms): the lease running out (<= --lease s),
//     the owner keys being taken, the store claimed;
//   - probe gap: kill -> the first acknowledged send of a probe whose chat was on
//     the killed node (what a user saw);
//   - sends answered with an error or a close (each then resent), and sends
//     never acknowledged at the end (must be 0: each probe's last send gets a
//     bounded drain);
// then restart the node and wait until it serves its share again.
// Bounded: every wait has a timeout; --kills <= 20. --json writes the figures for
// the capacity model (kind 'failover', bench/bench-json.ts).
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { STORES, type Store } from './store-flag';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTopology, type Topology, type TopologyStore } from '../deploy/topology';
import { killLocalClusterSync, startLocalCluster, wipeLocalCluster, type LocalCluster } from '../deploy/cassandra-node';
import { takeJsonFlag, writeBenchJson } from './bench-json';
import { percentileOfSorted } from '../lib/stats';
import { waitFor, withTimeout } from '../lib/async';
import { ChatClient } from '../loadgen/client/chat-client';
import { directChatId, partitionOf } from '../server/common/chat-id';
import { PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { partitionsOf } from '../server/common/partitions';
import { mintToken } from '../server/common/token';

interface Args {
  kills: number;
  chats: number;
  lease: number;
  probes: number;
  store: Store;
}

/** How long a probe may go on resending its last message once the bench stops (then it counts as unacknowledged). */
const DRAIN_MS_MAX = 15_000;

function parse(argv: string[]): Args {
  const a: Args = { kills: 5, chats: 3, lease: 2, probes: 24, store: 'sqlite' };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--store') {
      if (!STORES.includes(argv[i + 1] as Store)) throw new Error(`--store ${argv[i + 1]}: ${STORES.join(' or ')}`);
      a.store = argv[i + 1] as Store;
      continue;
    }
    const key = argv[i]!.replace(/^--/, '') as Exclude<keyof Args, 'store'>;
    const v = Number(argv[i + 1]);
    if (!(key in a) || !Number.isInteger(v) || v < 1) throw new Error(`bad flag ${argv[i]} ${argv[i + 1]}`);
    a[key] = v;
  }
  if (a.kills > 20 || a.chats < 2 || a.chats > 8 || a.probes > 200) throw new Error('--kills <= 20, 2 <= --chats <= 8, --probes <= 200');
  return a;
}

/** A user that sends to its peer every 50 ms, one message at a time, resending after an error or a reconnect. */
class Probe {
  client: ChatClient | null = null;
  acked = 0;
  errors = 0;
  closes = 0;
  lastAckAt = 0;
  /** The client_msg_id sent and not yet acknowledged. */
  pending: string | null = null;
  private running = true;
  private drainUntil = 0;
  private seq = 0;
  readonly done: Promise<void>;

  constructor(readonly topo: Topology, readonly user: number, readonly peer: number) {
    this.done = this.loop();
  }

  get chatId(): string {
    return directChatId(this.user, this.peer);
  }

  private async loop(): Promise<void> {
    // After stop(), only the message in flight is resent (bounded): what is still pending then was never acknowledged.
    while (this.running || (this.pending !== null && performance.now() < this.drainUntil)) {
      try {
        if (!this.client || this.client.closed) {
          this.client = await ChatClient.connect({ url: this.topo.url, token: mintToken(this.topo.secret, this.user, 3600), kind: 'lean' });
          this.client.onClose = () => this.closes++;
        }
        if (!this.running && this.pending === null) break;
        this.pending ??= `p${this.user}-${this.seq++}`;
        await withTimeout(this.client.send(this.peer, new TextEncoder().encode('probe'), this.pending), 3000, 'a probe send');
        this.acked++;
        this.lastAckAt = performance.now();
        this.pending = null;
      } catch {
        this.errors++;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.drainUntil = performance.now() + DRAIN_MS_MAX;
    this.running = false;
    await this.done;
    this.client?.close();
  }
}


/** The bench's Cassandra cluster: started once in a temp dir, wiped at the end (the topology only adopts it). */
async function startStore(store: Store, dir: string): Promise<{ store: TopologyStore; cluster: LocalCluster | null }> {
  if (store === 'sqlite') return { store: 'shared-sqlite', cluster: null };
  const cluster = await startLocalCluster({ nodes: 3, dir, log: (l) => console.log(`[cassandra] ${l}`) });
  console.log(`cassandra: 3 nodes up (all UN) in ${(cluster.startMs / 1000).toFixed(1)} s`);
  return { store: { cassandra: { cluster } }, cluster };
}

async function main(): Promise<void> {
  const { json, rest } = takeJsonFlag(process.argv.slice(2));
  const args = parse(rest);
  const dir = mkdtempSync(join(tmpdir(), 'wa-bench-failover-'));
  process.once('exit', () => killLocalClusterSync(join(dir, 'cassandra')));
  try {
    const { store, cluster } = await startStore(args.store, join(dir, 'cassandra'));
    try {
      await measure(args, json, store);
    } finally {
      if (cluster) await wipeLocalCluster(cluster).catch(() => killLocalClusterSync(cluster.dir));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(args: Args, json: string | null, store: TopologyStore): Promise<void> {
  const topo = await startTopology({
    gateways: 1, chats: args.chats, env: { WA_CLUSTER_LEASE_SECONDS: String(args.lease) }, store,
    ...(args.store === 'cassandra' ? { startTimeoutMs: 90_000 } : {}),
  });
  console.log(`store: ${topo.storeDescription}`);
  const names = Array.from({ length: args.chats }, (_, i) => `chat-${i}`);
  const base = PROVISIONED_USER_ID_MIN + Math.floor(Math.random() * 1e6) * 1000;
  const probes: Probe[] = [];
  // Both users of a pair send (a 1:1 send needs its recipient to exist: a token-holding user exists once connected).
  for (let i = 0; i < args.probes / 2; i++) probes.push(new Probe(topo, base + 2 * i, base + 2 * i + 1), new Probe(topo, base + 2 * i + 1, base + 2 * i));
  const served: number[] = [];
  const gaps: number[] = [];
  const failedPerKill: number[] = [];
  const rows: string[] = [];
  try {
    await waitFor(() => probes.every((p) => p.acked > 0), 20_000, 'every probe acknowledged once');
    for (let k = 0; k < args.kills; k++) {
      const victim = k % args.chats;
      const owned = new Set(partitionsOf(names[victim]!, names));
      const onVictim = probes.filter((p) => owned.has(partitionOf(p.chatId)));
      const errorsBefore = probes.reduce((n, p) => n + p.errors, 0);
      const closesBefore = probes.reduce((n, p) => n + p.closes, 0);
      const t0 = performance.now();
      await topo.kill('chat', victim);
      await waitFor(async () => ((await topo.gatewayHealth(0)).cluster?.partitions_routable ?? 0) === 1024 &&
        (await topo.gatewayHealth(0)).cluster?.nodes === args.chats - 1, 30_000, 'partitions served again');
      const servedMs = performance.now() - t0;
      await waitFor(() => onVictim.every((p) => p.lastAckAt > t0), 30_000, 'every probe on the victim acknowledged again');
      const gapMs = Math.max(...onVictim.map((p) => p.lastAckAt - t0), 0);
      served.push(servedMs);
      gaps.push(gapMs);
      const errs = probes.reduce((n, p) => n + p.errors, 0) - errorsBefore;
      const closes = probes.reduce((n, p) => n + p.closes, 0) - closesBefore;
      failedPerKill.push(errs);
      rows.push(`kill ${k + 1}: chat-${victim} (${onVictim.length} probes on it): served again ${servedMs.toFixed(0)} ms, probe gap max ${gapMs.toFixed(0)} ms, sends errored/resent ${errs}, connections closed ${closes}`);
      console.log(rows[rows.length - 1]);
      await topo.restart('chat', victim);
      await waitFor(async () => ((await topo.gatewayHealth(0)).cluster?.nodes ?? 0) === args.chats &&
        ((await topo.gatewayHealth(0)).cluster?.partitions_routable ?? 0) === 1024, 30_000, 'restarted node serving');
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await Promise.all(probes.map((p) => p.stop()));
    await topo.stop();
  }
  const unacked = probes.filter((p) => p.pending !== null).length;
  const s = [...served].sort((a, b) => a - b);
  const g = [...gaps].sort((a, b) => a - b);
  console.log(`\nfailover over ${args.kills} kills (${args.chats} chat nodes on ${args.store === 'cassandra' ? 'the 3-node Cassandra cluster (RF=3, LOCAL_QUORUM)' : 'shared SQLite'}, ` +
    `lease ${args.lease} s, ${args.probes} probes; ${new Date().toISOString()}, load avg ${loadavg().map((x) => x.toFixed(1)).join(' ')}):`);
  console.log(`  partitions served again: p50 ${percentileOfSorted(s, 50).toFixed(0)} ms, max ${s[s.length - 1]!.toFixed(0)} ms`);
  console.log(`  probe gap (kill -> first ack on a moved chat): p50 ${percentileOfSorted(g, 50).toFixed(0)} ms, max ${g[g.length - 1]!.toFixed(0)} ms`);
  const acked = probes.reduce((n, p) => n + p.acked, 0);
  console.log(`  failed sends per kill (answered with an error or a close, then resent): ${failedPerKill.join(', ')}`);
  console.log(`  acknowledged sends: ${acked}; sends left unacknowledged at the end: ${unacked} (each probe resends its last send for up to ${DRAIN_MS_MAX / 1000} s)`);
  if (json) {
    writeBenchJson(json, 'failover', {
      kills: args.kills, chat_nodes: args.chats, lease_s: args.lease, probes: args.probes,
      served_again_ms: served, served_again_ms_p50: percentileOfSorted(s, 50), served_again_ms_max: s[s.length - 1]!,
      probe_gap_ms_p50: percentileOfSorted(g, 50), probe_gap_ms_max: g[g.length - 1]!, acked,
      store: args.store, failed_sends_per_kill: failedPerKill, unacknowledged: unacked,
    });
  }
  if (unacked > 0) {
    console.error(`failover bench: ${unacked} probe send(s) never acknowledged`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`failover bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
