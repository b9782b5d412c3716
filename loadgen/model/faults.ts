// Faults a scenario declares (what xk6-disruptor adds to k6): at a time of the
// measured window, one process of the system is killed, paused, stopped or
// restarted, and brought back after `for`. Validated here with the rest of the
// plan, so a bad fault fails before anything starts (exit 104); executed by
// loadgen/engine/fault-executor.ts through the topology's process handles.
//
//   faults: [
//     { at: '10s', target: 'chat', index: 1, action: 'kill', for: '3s' },     // kill -9, start again 3 s later
//     { at: '20s', target: 'gateway', index: 0, action: 'pause', for: '1s' },  // SIGSTOP, SIGCONT 1 s later
//     { at: '30s', target: 'redis', action: 'restart' },                       // SIGTERM, wait, start at once
//     { at: '40s', target: 'chat', index: 2, action: 'isolate', for: '4s' },   // cut off from etcd, healed 4 s later
//   ]
//
// `topology: 'GxM'` (G gateways, M chat nodes) says which system the scenario
// wants; `loadgen run --topology` overrides it. Without one the run uses the
// single-process system: one chat service, `system.gateways` gateways.
// `store: 'cassandra'` (or `--store cassandra`) puts the topology's chat nodes
// on a local 3-node Cassandra cluster (RF=3, LOCAL_QUORUM) whose nodes are the
// `cassandra` targets (index 0..2); the default `sqlite` is one shared file.
import { parseDurationMs } from './duration';

export type FaultTarget = 'chat' | 'gateway' | 'redis' | 'etcd' | 'cassandra' | 'haproxy';
export const FAULT_TARGETS: readonly FaultTarget[] = ['chat', 'gateway', 'redis', 'etcd', 'cassandra', 'haproxy'];

/**
 * kill: SIGKILL (kill -9), started again after `for` when given. pause: SIGSTOP, SIGCONT after `for` (required).
 * stop: SIGTERM (graceful), started again after `for` when given. restart: graceful stop, then start at once (no `for`).
 * isolate: a network fault: a chat node cut off from etcd (packets dropped) for `for` (required), then healed.
 */
export type FaultAction = 'kill' | 'pause' | 'stop' | 'restart' | 'isolate';
export const FAULT_ACTIONS: readonly FaultAction[] = ['kill', 'pause', 'stop', 'restart', 'isolate'];

export interface FaultSpec {
  /** When, from the start of the measured window. */
  at: string | number;
  target: FaultTarget;
  /** Which process of the target's tier (0-based; default 0). */
  index?: number;
  action: FaultAction;
  /** How long the process stays down or frozen before it is brought back. */
  for?: string | number;
}

/** One fault after validation (plain data: it is in the plan and in summary.json). */
export interface ResolvedFault {
  /** Position in the scenario's list (the report's "fault #n"). */
  id: number;
  target: FaultTarget;
  index: number;
  action: FaultAction;
  atMs: number;
  /** 0: not brought back (kill/stop without `for`), or restart (brought back at once). */
  forMs: number;
  /** "kill chat[1] for 3s" */
  label: string;
}

/** The system a scenario runs on: G gateways and M chat nodes (one Redis, a 3-member etcd, one HAProxy). */
export interface Topology {
  gateways: number;
  chats: number;
}

/** The same bounds as deploy/topology.ts (TOPOLOGY_LIMITS), which the model cannot import: a 2-core box. */
export const TOPOLOGY_NODES_MAX = 16;

/** "2x3" -> 2 gateways, 3 chat nodes (the syntax deploy/topology.ts parses: GxM, x or X, spaces allowed). */
export function parseTopology(spec: string, where = 'topology'): Topology {
  const m = /^\s*(\d+)\s*[xX]\s*(\d+)\s*$/.exec(String(spec));
  if (!m) throw new Error(`${where} "${spec}": expected GxM, e.g. 2x3 (2 gateways, 3 chat nodes)`);
  const t = { gateways: Number(m[1]), chats: Number(m[2]) };
  // Worded as deploy/topology.ts words it, so `loadgen run --topology` says the same whichever checks first.
  if (t.gateways < 1 || t.gateways > TOPOLOGY_NODES_MAX) throw new Error(`${where} ${spec}: gateways must be within 1..${TOPOLOGY_NODES_MAX}, got ${t.gateways}`);
  if (t.chats < 1 || t.chats > TOPOLOGY_NODES_MAX) throw new Error(`${where} ${spec}: chat nodes must be within 1..${TOPOLOGY_NODES_MAX}, got ${t.chats}`);
  return t;
}

/** The topology's shared store: one SQLite file (light, one host) or a 3-node Cassandra cluster. */
export type StoreName = 'sqlite' | 'cassandra';
export const STORE_NAMES: readonly StoreName[] = ['sqlite', 'cassandra'];
/** Nodes of the topology's Cassandra cluster (deploy/services/cassandra-cluster.ts starts 3: RF=3 at LOCAL_QUORUM). */
export const TOPOLOGY_CASSANDRA_NODES = 3;

/** 'sqlite' | 'cassandra', refused otherwise; a Cassandra store needs a topology (the single-process system is embedded). */
export function parseStore(spec: string | undefined, topology: Topology | null, where = 'store'): StoreName | null {
  if (spec === undefined) return topology ? 'sqlite' : null;
  if (!STORE_NAMES.includes(spec as StoreName)) throw new Error(`${where} "${String(spec)}": expected ${STORE_NAMES.join(' or ')}`);
  if (!topology) throw new Error(`${where} ${spec}: the store is chosen for a topology (--topology GxM); the single-process system runs the embedded store`);
  return spec as StoreName;
}

/** Processes per target a system has (a fault's index must be below its target's count). */
export type TargetCounts = Record<FaultTarget, number>;

/** etcd members of the multi-node topology (deploy/topology.ts starts a 3-member cluster). */
export const TOPOLOGY_ETCD_MEMBERS = 3;

/**
 * What each target counts on a system: the multi-node topology (one Redis, a 3-member etcd, one HAProxy;
 * Cassandra nodes only when the store is the Cassandra cluster) or the single-process one.
 */
export function targetCounts(topology: Topology | null, singleProcessGateways: number, cassandraNodes = 0): TargetCounts {
  if (!topology) return { chat: 1, gateway: singleProcessGateways, redis: 0, etcd: 0, cassandra: cassandraNodes, haproxy: 0 };
  return { chat: topology.chats, gateway: topology.gateways, redis: 1, etcd: TOPOLOGY_ETCD_MEMBERS, cassandra: cassandraNodes, haproxy: 1 };
}

const FAULT_KEYS = ['at', 'target', 'index', 'action', 'for'];
export const FAULTS_MAX = 64;

/**
 * Validate a scenario's faults against the run's schedule (`windowMs`, after --duration) and the
 * system's processes. `stretch` scales every time (--duration stretches the scenario).
 */
export function resolveFaults(specs: readonly FaultSpec[] | undefined, windowMs: number, counts: TargetCounts, stretch = 1,
  system = 'the system'): ResolvedFault[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) throw new Error('faults must be a list of { at, target, index, action, for }');
  if (specs.length > FAULTS_MAX) throw new Error(`faults: at most ${FAULTS_MAX}, got ${specs.length}`);
  const out = specs.map((f, id) => resolveOne(f, id, windowMs, counts, stretch, system));
  // Two faults on one process must not overlap: the second would act on a process the first holds down.
  for (const a of out) {
    for (const b of out) {
      if (b.id <= a.id || a.target !== b.target || a.index !== b.index) continue;
      if (b.atMs <= a.atMs + a.forMs && a.atMs <= b.atMs + b.forMs) {
        throw new Error(`faults[${a.id}] (${a.label} at ${a.atMs} ms) and faults[${b.id}] (${b.label} at ${b.atMs} ms) overlap on ${a.target}[${a.index}]`);
      }
    }
  }
  return out;
}

function resolveOne(f: FaultSpec, id: number, windowMs: number, counts: TargetCounts, stretch: number, system: string): ResolvedFault {
  const where = `faults[${id}]`;
  if (!f || typeof f !== 'object') throw new Error(`${where} must be { at, target, index, action, for }`);
  for (const k of Object.keys(f)) if (!FAULT_KEYS.includes(k)) throw new Error(`${where}: unknown field "${k}" (have ${FAULT_KEYS.join(', ')})`);
  if (!FAULT_TARGETS.includes(f.target)) throw new Error(`${where}.target: "${String(f.target)}" is not a target (have ${FAULT_TARGETS.join(', ')})`);
  if (!FAULT_ACTIONS.includes(f.action)) throw new Error(`${where}.action: "${String(f.action)}" is not an action (have ${FAULT_ACTIONS.join(', ')})`);
  const index = f.index ?? 0;
  if (!Number.isInteger(index) || index < 0) throw new Error(`${where}.index must be an integer >= 0, got ${String(f.index)}`);
  const n = counts[f.target];
  if (index >= n) {
    throw new Error(`${where}: ${f.target}[${index}] does not exist: ${system} has ${n === 0 ? 'no' : n} ${f.target} process${n === 1 ? '' : 'es'}` +
      `${n > 0 ? ` (index 0..${n - 1})` : ''}${f.target === 'cassandra' && n === 0 ? ' (store \'cassandra\' or --store cassandra on a topology has 3)' : ''}`);
  }
  if (f.at === undefined) throw new Error(`${where}.at is required (a time in the measured window, e.g. '10s')`);
  const atMs = parseDurationMs(f.at, `${where}.at`) * stretch;
  const forMs = f.for === undefined ? 0 : parseDurationMs(f.for, `${where}.for`) * stretch;
  if (f.for !== undefined && !(forMs > 0)) throw new Error(`${where}.for must be > 0`);
  if (f.action === 'pause' && f.for === undefined) throw new Error(`${where}: pause needs \`for\` (a process is never left frozen)`);
  if (f.action === 'isolate' && f.for === undefined) throw new Error(`${where}: isolate needs \`for\` (a network fault is always healed)`);
  if (f.action === 'isolate' && f.target !== 'chat') throw new Error(`${where}: isolate cuts a chat node off from etcd; target must be chat`);
  if (f.action === 'restart' && f.for !== undefined) throw new Error(`${where}: restart starts the process again at once; for a gap use stop with \`for\``);
  if (atMs >= windowMs) throw new Error(`${where}.at (${atMs} ms) is beyond the run: the schedule ends at ${windowMs} ms`);
  if (atMs + forMs > windowMs) {
    throw new Error(`${where}: ends at ${atMs + forMs} ms, after the schedule (${windowMs} ms): a fault must end inside the run so it measures the recovery`);
  }
  const label = `${f.action} ${f.target}[${index}]${forMs ? ` for ${+(forMs / 1000).toFixed(3)}s` : ''}`;
  return { id, target: f.target, index, action: f.action, atMs, forMs, label };
}
