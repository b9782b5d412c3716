// The system a run measures when it is given no --target: started here (chat
// service and gateways on loopback, embedded store; or with --topology GxM the
// multi-node topology behind HAProxy, deploy/topology.ts, on shared SQLite or
// on a local 3-node Cassandra cluster) by `loadgen run` or
// by the --procs parent, and what each of its processes cost over the measured
// window. Also the fresh range of user ids every run takes.
import { PROVISIONED_USER_ID_MIN } from '../../server/common/ids';
import { startSystem, type RunningSystem } from '../../deploy/local-system';
import { startLocalCluster } from '../../deploy/cassandra-node';
import { TOPOLOGY_CASSANDRA_NODES } from '../../deploy/services/cassandra-cluster';
import { startTopology, type Topology, type TopologyShape, type TopologyStore } from '../../deploy/topology';
import type { StoreName } from '../model/faults';
import type { SystemShape } from '../model/scenario';
import type { ProcessUsage } from './summary';

/** What a run reads from the system it started: each process's CPU and memory, and a way to stop it. */
export interface LocalSystem {
  /** Each process by name ("chat", "gateway-0"; a topology's "chat-0", "haproxy", ...) with its pid. */
  pids(): [string, number][];
  cpuSeconds(): Record<string, number>;
  rssBytes(): Record<string, number | null>;
  stop(): Promise<unknown>;
}

export interface LocalTarget {
  system: LocalSystem;
  /** The WebSocket URLs clients connect to: every gateway's, or HAProxy's alone for a topology. */
  urls: string[];
  secret: string;
  /** A chat service's gRPC address (bulk provisioning). */
  chatTarget: string;
  /** Where the store lives (for the log). */
  dataDir: string;
  /** The store in one line ("embedded SQLite in <dir>", "Cassandra 3 nodes ..."): the log and the summary say which. */
  store: string;
  /** The multi-node topology (--topology GxM), for fault injection; null for the single-process system. */
  topology: Topology | null;
  /** The single-process system (fault injection there); null for a topology. */
  singleProcess: RunningSystem | null;
}

/** The topology's store as asked for: its name, and for Cassandra a cluster dir to reuse (else the topology starts its own). */
export interface StoreChoice {
  name: StoreName;
  /** --cassandra-cluster: the dir of a cluster `scripts/cassandra.sh cluster-start` runs (started there if not running); left running. */
  cassandraClusterDir?: string;
}

/** A topology on Cassandra waits longer for its first chat node: it creates the keyspace (RF=3) and its tables. */
const CQL_TOPOLOGY_START_TIMEOUT_MS = 90_000;

async function topologyStore(store: StoreChoice | undefined, log?: (line: string) => void): Promise<TopologyStore> {
  if (!store || store.name === 'sqlite') return 'shared-sqlite';
  if (!store.cassandraClusterDir) return { cassandra: {} };
  const cluster = await startLocalCluster({ nodes: TOPOLOGY_CASSANDRA_NODES, dir: store.cassandraClusterDir, log });
  return { cassandra: { cluster } };
}

/** Which build of the single-process system runs, and extra environment for it only (the timed A/B gate's two sides). */
export interface SystemBuild {
  /** A dist/ of another checkout (default: this one's). */
  distDir?: string;
  env?: Record<string, string>;
}

/**
 * Start the system with `gateways` gateways and the scenario's limit overrides: one chat service
 * (the default), or, with `topology`, etcd, Redis, M chat nodes and G gateways behind HAProxy,
 * every client connecting through HAProxy.
 */
export async function startLocalTarget(gateways: number, shape: SystemShape | undefined, topology?: TopologyShape, store?: StoreChoice,
  log?: (line: string) => void, build?: SystemBuild): Promise<LocalTarget> {
  if (topology) {
    const topo = await startTopology({
      ...topology, env: shape?.env, store: await topologyStore(store, log),
      ...(store?.name === 'cassandra' ? { startTimeoutMs: CQL_TOPOLOGY_START_TIMEOUT_MS } : {}),
    });
    return {
      system: topo, urls: [topo.url], secret: topo.secret, chatTarget: topo.chatTarget, dataDir: topo.dataDir, store: topo.storeDescription,
      topology: topo, singleProcess: null,
    };
  }
  const system = await startSystem({ gateways, env: { ...shape?.env, ...build?.env }, distDir: build?.distDir });
  return {
    system, urls: system.gatewayPorts.map((p) => `ws://127.0.0.1:${p}/v1/ws`), secret: system.secret, chatTarget: system.chatTarget,
    dataDir: system.opts.dataDir, store: singleProcessStore({ ...process.env, ...shape?.env }, system.opts.dataDir), topology: null, singleProcess: system,
  };
}

/** The single-process chat service's store: embedded, unless the environment (WA_STORE=scylla) points it at a CQL cluster. */
function singleProcessStore(env: NodeJS.ProcessEnv, dataDir: string): string {
  if (env.WA_STORE === 'scylla') return `ScyllaDB store at ${env.WA_SCYLLA_CONTACT_POINTS ?? '127.0.0.1:9042'} (WA_STORE=scylla)`;
  return `embedded SQLite in ${dataDir}`;
}

/** Fresh users per run (repeated runs on one store must not see each other's chats): 10M ids per run slot. */
export function freshUserBase(): number {
  return PROVISIONED_USER_ID_MIN + Math.floor(Math.random() * 1_000_000) * 10_000_000;
}

/**
 * Each process's CPU from `cpuStart` to now over a measured window of
 * `measuredMs` (% of one core), its resident memory now, and as it was idle
 * (before the generator connected) and once connected.
 */
export function systemUsageSince(system: LocalSystem, cpuStart: Record<string, number>, measuredMs: number,
  rssIdle: Record<string, number | null> | null, rssConnected: Record<string, number | null> | null): Record<string, ProcessUsage> {
  const usage: Record<string, ProcessUsage> = {};
  const rss = system.rssBytes();
  for (const [name, cpu] of Object.entries(system.cpuSeconds())) {
    // A process restarted by a fault is a new process: its CPU counts from its start.
    const start = cpuStart[name] ?? cpu;
    const cpuS = cpu >= start ? cpu - start : cpu;
    usage[name] = {
      cpu_s: Math.round(cpuS * 100) / 100, cpu_percent: Math.round((cpuS / (measuredMs / 1000)) * 1000) / 10,
      rss_bytes: rss[name] ?? null, rss_idle_bytes: rssIdle?.[name] ?? null, rss_connected_bytes: rssConnected?.[name] ?? null,
    };
  }
  return usage;
}
