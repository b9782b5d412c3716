// The multi-node topology from one call (docs/design/013-scale-out.md): etcd,
// Redis, M chat nodes sharing one store (one SQLite file, or a 3-node Cassandra
// cluster that the topology starts or is handed), G gateways and HAProxy in front
// of them, every process started here on free loopback ports with its files in
// temp dirs, and every one reachable as a ManagedProcess for fault injection
// (kill -9, SIGSTOP/SIGCONT, restart). `loadgen run --topology GxM` and the
// multi-node tests use it; the single-process system stays deploy/local-system.ts.
//
// Ports are chosen once and kept across restarts, so a restarted gateway is
// back behind HAProxy without a reload and a restarted chat node answers where
// it did before.
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../lib/async';
import { freePorts } from '../lib/net';
import { processCpuSeconds, processRssBytes } from '../lib/proc-cpu';
import { PARTITIONS } from '../server/common/partitions';
import { DIST_DIR } from '../server/common/paths';
import { newSecret } from '../server/common/token';
import { TopologyCassandra, type CassandraStoreOptions } from './services/cassandra-cluster';
import { startEtcdCluster, type EtcdCluster } from './services/etcd';
import { haproxyAlive, startHaproxy, type HaproxyServer } from './services/haproxy';
import { ManagedProcess } from './services/managed-process';
import { TcpDrop } from './services/net-fault';
import { redisPing, startRedis, type RedisServer } from './services/redis';

export type TopologyRole = 'chat' | 'gateway' | 'redis' | 'etcd' | 'haproxy';

/** The bounds of --topology GxM: this box has 2 cores; 16 of each is already far past what it runs well. */
export const TOPOLOGY_LIMITS = Object.freeze({ gateways_max: 16, chats_max: 16 });

export interface TopologyShape {
  gateways: number;
  chats: number;
}

/** "2x3" -> 2 gateways, 3 chat nodes; anything else is refused with what was expected. */
export function parseTopology(text: string): TopologyShape {
  const m = /^\s*(\d+)\s*[xX]\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`--topology "${text}": expected GxM, e.g. 2x3 (2 gateways, 3 chat nodes)`);
  const gateways = Number(m[1]);
  const chats = Number(m[2]);
  const { gateways_max, chats_max } = TOPOLOGY_LIMITS;
  if (gateways < 1 || gateways > gateways_max) throw new Error(`--topology ${text}: gateways must be within 1..${gateways_max}, got ${gateways}`);
  if (chats < 1 || chats > chats_max) throw new Error(`--topology ${text}: chat nodes must be within 1..${chats_max}, got ${chats}`);
  return { gateways, chats };
}

export type TopologyStore = 'shared-sqlite' | { cassandra: CassandraStoreOptions }
  | { scylla: { contactPoints: string[]; keyspace?: string; rf?: number } };

export interface TopologyOptions extends TopologyShape {
  /**
   * The shared store: one SQLite file in a temp dir, opened by every chat node (WAL; fenced commits);
   * `{ cassandra }`: a local 3-node Cassandra 5 cluster (RF=3, LOCAL_QUORUM) that the topology starts in
   * its temp dir and wipes at the end, or adopts (`cassandra.cluster`, left running), whose nodes are
   * fault targets (`cassandra`); or `{ scylla }`: contact points of a cluster someone else runs (no
   * fault targets). In both CQL modes the first chat node creates the keyspace before the others start.
   */
  store?: TopologyStore;
  /** Extra environment for chat nodes and gateways (limits: WA_<LIMIT>). */
  env?: Record<string, string>;
  /** Print every process's output, prefixed with its name. */
  verbose?: boolean;
  /** How long each process (and the whole topology's readiness) may take. */
  startTimeoutMs?: number;
  /** Extra node flags for chat nodes and gateways (e.g. --cpu-prof --cpu-prof-dir=d; NODE_OPTIONS refuses --cpu-prof); also read from WA_NODE_ARGS. */
  nodeArgs?: string[];
  /** etcd members: 3 (default; one may die and the chat nodes keep their leases) or 1. */
  etcdMembers?: 1 | 3;
}

/** What a gateway's GET /healthz answers (the cluster part only in cluster mode). */
export interface GatewayHealth {
  status: string;
  chat_link: string;
  connections: number;
  cluster?: { nodes: number; partitions_routable: number };
}

/**
 * A gateway is ready when it can route every partition. Until the gateway reports `cluster`
 * (cluster mode, server/cluster), its single chat link being up is the same statement.
 */
export function gatewayReady(h: GatewayHealth): boolean {
  if (h.cluster) return h.cluster.partitions_routable === PARTITIONS;
  return h.status === 'ok' && h.chat_link === 'up';
}

const READY_TIMEOUT_MS_DEFAULT = 30_000;

export class Topology {
  /** Network faults in force: chat node -> its etcd drops (one per member port). */
  private readonly drops = new Map<number, TcpDrop[]>();
  readonly chats: ManagedProcess[] = [];
  readonly gateways: ManagedProcess[] = [];
  haproxy!: HaproxyServer;
  /** The Cassandra cluster when the store is `{ cassandra }` (its nodes are fault targets); null otherwise. */
  cassandra: TopologyCassandra | null = null;

  constructor(
    readonly opts: TopologyOptions,
    readonly secret: string,
    readonly dataDir: string,
    readonly etcd: EtcdCluster,
    readonly redis: RedisServer,
    readonly chatPorts: number[],
    readonly chatMetricsPorts: number[],
    readonly gatewayPorts: number[],
  ) {}

  /** ws://127.0.0.1:<haproxy>/v1/ws: where clients connect. */
  get url(): string {
    return this.haproxy.url;
  }

  /** Each gateway's own WebSocket URL (straight, not through HAProxy). */
  get gatewayUrls(): string[] {
    return this.gatewayPorts.map((p) => `ws://127.0.0.1:${p}/v1/ws`);
  }

  /** chat-0's gRPC address: bulk provisioning of load-test users (the users table is in the shared store). */
  get chatTarget(): string {
    return `127.0.0.1:${this.chatPorts[0]}`;
  }

  processes(role: TopologyRole): ManagedProcess[] {
    switch (role) {
      case 'chat': return this.chats;
      case 'gateway': return this.gateways;
      case 'redis': return [this.redis.proc];
      case 'etcd': return this.etcd.procs;
      case 'haproxy': return this.haproxy ? [this.haproxy.proc] : [];
    }
  }

  /** kill -9; the process stays down until restart(role, i). */
  async kill(role: TopologyRole, i = 0): Promise<void> {
    await this.proc(role, i).kill();
  }

  /** SIGSTOP: frozen, its sockets open, until resume(role, i). */
  pause(role: TopologyRole, i = 0): void {
    this.proc(role, i).pause();
  }

  resume(role: TopologyRole, i = 0): void {
    this.proc(role, i).resume();
  }

  /** Network fault: chat node i cut off from every etcd member (nftables drops on its own etcd address) until heal('chat', i). */
  isolate(role: TopologyRole, i = 0): void {
    if (role !== 'chat') throw new Error(`topology: only a chat node can be cut off from etcd, not ${role}`);
    this.proc(role, i);
    if (this.drops.has(i)) return;
    const drops: TcpDrop[] = [];
    try {
      for (const port of this.etcd.clientPorts) drops.push(TcpDrop.start(chatEtcdHost(i), port));
    } catch (err) {
      for (const d of drops) d.heal();
      throw err;
    }
    this.drops.set(i, drops);
  }

  heal(role: TopologyRole, i = 0): void {
    if (role !== 'chat') return;
    for (const d of this.drops.get(i) ?? []) d.heal();
    this.drops.delete(i);
  }

  /** The store in one line, for logs and the run summary. */
  get storeDescription(): string {
    const store = this.opts.store ?? 'shared-sqlite';
    if (this.cassandra) return this.cassandra.describe();
    if (store === 'shared-sqlite') return `shared SQLite (one file in ${this.dataDir}, WAL)`;
    if ('scylla' in store) return `CQL cluster at ${store.scylla.contactPoints.join(',')} (keyspace ${store.scylla.keyspace ?? 'wa'}, LOCAL_QUORUM)`;
    return 'unknown';
  }

  /** Cassandra node i (kill -9 / SIGSTOP / stop through `cassandra.nodes[i]`): started again, Up/Normal, every partition routable. */
  async restartCassandra(i: number): Promise<void> {
    if (!this.cassandra) throw new Error('topology: the store is not the Cassandra cluster; no cassandra node to start');
    await this.cassandra.restart(i, this.opts.verbose ? (l) => console.error(`[cassandra] ${l}`) : undefined);
    await this.waitGatewaysReady();
  }

  /** Stop it (SIGTERM, if it still runs), start it again with the same ports and data, and wait until it is ready. */
  async restart(role: TopologyRole, i = 0): Promise<void> {
    const proc = this.proc(role, i);
    if (proc.running) await proc.stop();
    proc.restart();
    await proc.waitReady(() => this.ready(role, i), this.opts.startTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT);
    // A restarted chat node or store service is only back when the gateways route everything again.
    if (role !== 'gateway' && role !== 'haproxy') await this.waitGatewaysReady();
  }

  async gatewayHealth(i: number): Promise<GatewayHealth> {
    const res = await fetch(`http://127.0.0.1:${this.gatewayPorts[i]}/healthz`, { signal: AbortSignal.timeout(1000) });
    return (await res.json()) as GatewayHealth;
  }

  async waitGatewaysReady(timeoutMs = this.opts.startTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT): Promise<void> {
    for (let i = 0; i < this.gateways.length; i++) {
      await waitFor(async () => gatewayReady(await this.gatewayHealth(i)), timeoutMs, `gateway-${i} ready (every partition routable)`);
    }
  }

  /** Every running process by name ("chat-0", "gateway-1", "haproxy", ...) with its pid; HAProxy's is its worker's. */
  pids(): [string, number][] {
    const out: [string, number][] = [];
    for (const role of ['etcd', 'redis', 'chat', 'gateway'] as TopologyRole[]) {
      for (const p of this.processes(role)) if (p.running) out.push([p.spec.name, p.pid]);
    }
    const worker = this.haproxy?.proc.running ? this.haproxy.workerPid : 0;
    if (worker) out.push(['haproxy', worker]);
    for (const n of this.cassandra?.nodes ?? []) if (n.running) out.push([n.name, n.pid]);
    return out;
  }

  cpuSeconds(): Record<string, number> {
    return Object.fromEntries(this.pids().map(([name, pid]) => [name, processCpuSeconds(pid) ?? 0]));
  }

  rssBytes(): Record<string, number | null> {
    return Object.fromEntries(this.pids().map(([name, pid]) => [name, processRssBytes(pid)]));
  }

  /**
   * Everything, front to back (HAProxy first, so the gateways' drains find no sockets left), then
   * the temp dirs. Safe to call on a topology that failed halfway through starting.
   */
  async stop(): Promise<void> {
    for (const ds of this.drops.values()) for (const d of ds) d.heal();
    this.drops.clear();
    await this.haproxy?.stop().catch(() => {});
    await Promise.all(this.gateways.map((g) => g.stop()));
    await Promise.all(this.chats.map((c) => c.stop()));
    await this.redis.stop().catch(() => {});
    await this.etcd.stop().catch(() => {});
    await this.cassandra?.stop(this.opts.verbose ? (l) => console.error(`[cassandra] ${l}`) : undefined).catch(() => {});
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- starting

  /** Environment every chat node and gateway shares (docs/design/013-scale-out.md, "Environment"). */
  private baseEnv(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      WA_CLUSTER_ETCD: this.etcd.endpoints,
      WA_REDIS_URL: this.redis.url,
      WA_DATA_DIR: this.dataDir,
      WA_TOKEN_SECRET: this.secret,
      // Test and load runs provision users in bulk (a test aid the production processes leave off).
      WA_LOADTEST_PROVISIONING: '1',
      ...this.opts.env,
    };
  }

  /** The store settings of chat node i (the Cassandra cluster's contact points; only node 0 migrates). */
  /** The extra node flags of chat nodes and gateways: the option's, then WA_NODE_ARGS (as deploy/local-system.ts). */
  private nodeArgs(): string[] {
    return [...(this.opts.nodeArgs ?? []), ...(process.env.WA_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  }

  private storeEnv(i: number): NodeJS.ProcessEnv {
    const store = this.opts.store;
    if (!store || store === 'shared-sqlite') return {};
    const { contactPoints, keyspace, rf } = this.cassandra
      ? { contactPoints: this.cassandra.contactPoints, keyspace: this.cassandra.keyspace, rf: 3 }
      : (store as { scylla: { contactPoints: string[]; keyspace?: string; rf?: number } }).scylla;
    return {
      WA_STORE: 'scylla', WA_SCYLLA_CONTACT_POINTS: contactPoints.join(','), WA_SCYLLA_KEYSPACE: keyspace ?? 'wa',
      WA_SCYLLA_RF: String(rf ?? Math.min(3, contactPoints.length)), WA_SCYLLA_CONSISTENCY: 'LOCAL_QUORUM',
      ...(i === 0 ? { WA_SCYLLA_MIGRATE: '1' } : {}),
    };
  }

  startChat(i: number): ManagedProcess {
    const proc = new ManagedProcess({
      name: `chat-${i}`, command: process.execPath, args: [...this.nodeArgs(), join(DIST_DIR, 'server/chat/main.js')], verbose: this.opts.verbose,
      env: { ...this.baseEnv(), ...this.storeEnv(i), WA_CLUSTER_ETCD: this.etcd.endpointsVia(chatEtcdHost(i)).join(','), WA_NODE_NAME: `chat-${i}`, WA_CHAT_PORT: String(this.chatPorts[i]), WA_CHAT_METRICS_PORT: String(this.chatMetricsPorts[i]) },
    }).start();
    this.chats[i] = proc;
    return proc;
  }

  startGateway(i: number): ManagedProcess {
    // HAProxy reaches the gateways from 127.0.0.1 and names the client in X-Forwarded-For (per-source registration limits).
    const env: NodeJS.ProcessEnv = { WA_TRUSTED_PROXIES: '127.0.0.1', ...this.baseEnv(), WA_GATEWAY_ID: `gw-${i}`, WA_GATEWAY_PORT: String(this.gatewayPorts[i]) };
    const proc = new ManagedProcess({
      name: `gateway-${i}`, command: process.execPath, args: [...this.nodeArgs(), join(DIST_DIR, 'server/gateway/main.js')], env, verbose: this.opts.verbose,
    }).start();
    this.gateways[i] = proc;
    return proc;
  }

  async startHaproxy(): Promise<void> {
    this.haproxy = await startHaproxy({ serverPorts: this.gatewayPorts, verbose: this.opts.verbose });
  }

  private proc(role: TopologyRole, i: number): ManagedProcess {
    const list = this.processes(role);
    const p = list[i];
    if (!p) throw new Error(`topology: no ${role} ${i} (there are ${list.length})`);
    return p;
  }

  /** The one process (not the whole topology) answers again. */
  private async ready(role: TopologyRole, i: number): Promise<boolean> {
    switch (role) {
      case 'chat': return tcpOpen(this.chatPorts[i]!);
      case 'gateway': return gatewayReady(await this.gatewayHealth(i));
      case 'redis': return redisPing(this.redis.port);
      case 'etcd': return this.etcd.healthy(i);
      case 'haproxy': return haproxyAlive(this.haproxy.port);
    }
  }
}

/** The loopback address chat node i reaches etcd on (its own: a packet filter can cut that node off alone). */
export function chatEtcdHost(i: number): string {
  return `127.0.0.${10 + i}`;
}

export async function startTopology(opts: TopologyOptions): Promise<Topology> {
  parseTopology(`${opts.gateways}x${opts.chats}`);
  const store = opts.store ?? 'shared-sqlite';
  if (store !== 'shared-sqlite' && !(typeof store === 'object' && ('cassandra' in store || store.scylla?.contactPoints?.length > 0))) {
    throw new Error(`topology: store ${JSON.stringify(store)} is not supported (shared-sqlite, { cassandra: {} }, or { scylla: { contactPoints } })`);
  }
  const timeoutMs = opts.startTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT;
  const dataDir = mkdtempSync(join(tmpdir(), 'wa-topology-'));
  // The Cassandra cluster first: the longest start (~1-2 min on 2 shared cores), and nothing else to undo if it fails.
  let cassandra: TopologyCassandra | null = null;
  try {
    if (typeof store === 'object' && 'cassandra' in store) {
      cassandra = await TopologyCassandra.open(store.cassandra, join(dataDir, 'cassandra'), opts.verbose ? (l) => console.error(`[cassandra] ${l}`) : undefined);
    }
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let etcd: EtcdCluster;
  let redis: RedisServer;
  try {
    // Each chat node reaches every etcd member on an address of its own (127.0.0.10+i), so a network fault can cut one node off alone.
    etcd = await startEtcdCluster({
      members: opts.etcdMembers ?? 3, verbose: opts.verbose, startTimeoutMs: timeoutMs,
      extraClientHosts: Array.from({ length: opts.chats }, (_, i) => chatEtcdHost(i)),
    });
  } catch (err) {
    await cassandra?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  try {
    redis = await startRedis({ verbose: opts.verbose });
  } catch (err) {
    await etcd.stop();
    await cassandra?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const ports = await freePorts(2 * opts.chats + opts.gateways);
  const topo = new Topology(opts, opts.env?.WA_TOKEN_SECRET ?? newSecret(), dataDir, etcd, redis,
    ports.slice(0, opts.chats), ports.slice(opts.chats, 2 * opts.chats), ports.slice(2 * opts.chats));
  topo.cassandra = cassandra;
  try {
    // The first node creates the store alone (the SQLite file and its WAL mode, or the Cassandra keyspace:
    // two processes creating it at once fail with "database is locked" or race on the schema), then the rest start.
    await topo.startChat(0).waitReady(() => tcpOpen(topo.chatPorts[0]!), timeoutMs);
    const chats = Array.from({ length: opts.chats }, (_, i) => (i === 0 ? topo.chats[0]! : topo.startChat(i)));
    await Promise.all(chats.map((c, i) => c.waitReady(() => tcpOpen(topo.chatPorts[i]!), timeoutMs)));
    const gateways = Array.from({ length: opts.gateways }, (_, i) => topo.startGateway(i));
    await Promise.all(gateways.map((g, i) => g.waitReady(async () => gatewayReady(await topo.gatewayHealth(i)), timeoutMs)));
    await topo.startHaproxy();
    for (const p of topo.gatewayPorts) await topo.haproxy.waitServer(p, true, timeoutMs);
  } catch (err) {
    await topo.stop();
    throw err;
  }
  return topo;
}

/** A TCP connect to 127.0.0.1:port succeeds. */
function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('connect', () => done(true));
    sock.on('error', () => done(false));
  });
}
