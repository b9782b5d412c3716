// From a scenario file to a run plan: validate everything up front (k6 fails
// on a bad option before it opens a connection, so do we), apply --scale and
// --duration, and resolve every executor to plain data that crosses to the
// worker threads. How the plan is cut among shards and threads: ./segments.ts.
import { describeValue } from '../../lib/shape';
import { checkScenarioShape } from './scenario-shape';
import { DEFAULT_LIMITS } from '../../server/common/config';
import { parseDurationMs } from './duration';
import { maxOf, meanOf, validateDistribution } from './distribution';
import { MEDIA_FILE_BYTES_MAX } from './media-limits';
import { parseThresholds, taggedMetrics, type Threshold } from './thresholds';
import {
  DEFAULT_TRAFFIC,
  WORKLOAD_NAMES,
  type ExecutorConfig,
  type ExecutorName,
  type Scenario,
  type TrafficModel,
  type WorkloadName,
} from './scenario';
import { PAYLOAD_HEADER_BYTES } from './payload';
import {
  parseStore, parseTopology, resolveFaults, targetCounts, TOPOLOGY_CASSANDRA_NODES, type ResolvedFault, type StoreName, type TargetCounts, type Topology,
} from './faults';

/** k6 defaults. */
const GRACEFUL_STOP_MS_DEFAULT = 30_000;
const MAX_DURATION_MS_DEFAULT = 10 * 60_000;
const DELIVERY_GRACE_MS_DEFAULT = 5_000;
const ITERATION_TIMEOUT_MS_DEFAULT = 10_000;
/** Our own bounds: every run ends. */
export const RUN_DURATION_MS_MAX = 6 * 3_600_000;
export const USERS_MAX = 2_000_000;
export const CONTACTS_PER_USER_MAX = 64;
export const VUS_MAX = 1_000_000;

export interface ResolvedStage {
  durationMs: number;
  target: number;
}

/** Where stages starting at `start` are `tMs` after they begin: linear within each stage, the last target after the end. */
export function stageValueAt(start: number, stages: readonly ResolvedStage[], tMs: number): number {
  let t = tMs;
  let from = start;
  for (const st of stages) {
    if (t < st.durationMs) return from + ((st.target - from) * t) / st.durationMs;
    t -= st.durationMs;
    from = st.target;
  }
  return from;
}

/** One executor after validation, scaling and defaults (plain data: it crosses to worker threads). */
export interface ResolvedExecutor {
  name: string;
  index: number;
  executor: ExecutorName;
  exec: WorkloadName;
  startMs: number;
  /** Scheduled length (arrival/vus executors) or maxDuration (per-vu-iterations). */
  durationMs: number;
  gracefulStopMs: number;
  timeUnitMs: number;
  /** Arrival-rate executors: iterations per timeUnit (constant) or stages (ramping). */
  rate: number;
  startRate: number;
  stages: ResolvedStage[];
  preAllocatedVUs: number;
  maxVUs: number;
  /** Closed-model executors. */
  vus: number;
  startVUs: number;
  iterations: number;
  gracefulRampDownMs: number;
}

export interface RunPlan {
  scenario: string;
  description: string;
  traffic: TrafficModel;
  executors: ResolvedExecutor[];
  thresholds: Threshold[];
  deliveryGraceMs: number;
  iterationTimeoutMs: number;
  /** --scale as given, and the production factor it yields. */
  scale: number;
  scaleFactor: number;
  /** Measured window: from 0 to the last executor's end (without graceful stop). */
  windowMs: number;
  /** Upper bound of the measured window including graceful stops. */
  windowMaxMs: number;
  /** Tagged sub-metrics that thresholds or the breakpoint analysis judge (workers record only these). */
  tagged: string[];
  /** The multi-node system the run wants (scenario `topology` or --topology); null: the single-process system. */
  topology: Topology | null;
  /** The topology's shared store (scenario `store` or --store); null: the single-process system (embedded store). */
  store: StoreName | null;
  /** Faults to inject, times after --duration (./faults.ts). */
  faults: ResolvedFault[];
}

export interface PlanOverrides {
  /** Multiplies rates, VUs and users. */
  scale?: number;
  /** New length of the measured window; every time in the scenario is stretched to fit. */
  durationMs?: number;
  users?: number;
  /** --e2ee: replaces the traffic model's `e2ee`. */
  e2ee?: boolean;
  /** --topology: replaces the scenario's `topology` ('GxM', or already parsed). */
  topology?: string | Topology;
  /** --store: replaces the scenario's `store` ('sqlite' or 'cassandra'). */
  store?: string;
  /** How many processes of each target the system has (default: from the topology, or the single-process system). */
  targetCounts?: TargetCounts;
}

const KEYS: Record<ExecutorName, string[]> = {
  'constant-arrival-rate': ['rate', 'timeUnit', 'duration', 'preAllocatedVUs', 'maxVUs'],
  'ramping-arrival-rate': ['startRate', 'timeUnit', 'stages', 'preAllocatedVUs', 'maxVUs'],
  'constant-vus': ['vus', 'duration'],
  'ramping-vus': ['startVUs', 'stages', 'gracefulRampDown'],
  'per-vu-iterations': ['vus', 'iterations', 'maxDuration'],
};
const COMMON_KEYS = ['executor', 'startTime', 'gracefulStop', 'exec'];

export function planRun(s: Scenario, o: PlanOverrides = {}): RunPlan {
  if (!s || typeof s !== 'object') throw new Error('a scenario module must export a scenario (export default defineScenario({...}))');
  checkScenarioShape(s);
  for (const k of ['name', 'description'] as const) if (typeof s[k] !== 'string' || !s[k]) throw new Error(`scenario.${k} is required`);
  if (!s.production || !(s.production.users > 0) || !(s.production.messagesPerSecond > 0)) {
    throw new Error(`scenario ${s.name}: production { users, messagesPerSecond, notes } states what it models`);
  }
  if (!s.scale || !(s.scale.factor > 0) || typeof s.scale.basis !== 'string') throw new Error(`scenario ${s.name}: scale { factor > 0, basis } is required`);
  const scale = o.scale ?? 1;
  if (!(scale > 0) || scale > 1000) throw new Error(`--scale must be within (0, 1000], got ${scale}`);

  const traffic = validateTraffic({ ...DEFAULT_TRAFFIC, ...s.traffic, ...(o.e2ee === undefined ? {} : { e2ee: o.e2ee }) }, s.name);
  traffic.users = o.users ?? Math.max(2, Math.round(traffic.users * scale));
  if (traffic.users > USERS_MAX) throw new Error(`traffic.users ${traffic.users} exceeds ${USERS_MAX}`);

  const entries = Object.entries(s.options?.scenarios ?? {});
  if (entries.length === 0) throw new Error(`scenario ${s.name}: options.scenarios needs at least one executor`);
  let executors = entries.map(([name, cfg], index) => resolveExecutor(name, index, cfg, scale));
  // Nobody online at the start suits a scenario that only connects (connect-ramp); senders need someone online.
  if (traffic.onlineShare === 0 && executors.some((e) => e.exec === 'chat' || e.exec === 'group')) {
    throw new Error(`scenario ${s.name}: traffic.onlineShare must be > 0 when a phase sends (chat, group): someone has to send`);
  }

  // --duration stretches every time of the scenario, so multi-phase scenarios keep their shape.
  const natural = Math.max(...executors.map((e) => e.startMs + e.durationMs));
  if (o.durationMs !== undefined) {
    if (!(o.durationMs > 0)) throw new Error('--duration must be > 0');
    const k = o.durationMs / natural;
    executors = executors.map((e) => ({
      ...e,
      startMs: e.startMs * k,
      durationMs: e.durationMs * k,
      stages: e.stages.map((st) => ({ ...st, durationMs: st.durationMs * k })),
    }));
  }
  const windowMs = Math.max(...executors.map((e) => e.startMs + e.durationMs));
  const windowMaxMs = Math.max(...executors.map((e) => e.startMs + e.durationMs + e.gracefulStopMs));
  if (windowMaxMs > RUN_DURATION_MS_MAX) throw new Error(`the run would last ${windowMaxMs} ms; the limit is ${RUN_DURATION_MS_MAX} ms`);

  const grouped = executors.find((e) => e.exec === 'group');
  if (grouped && !(traffic.groupsPerUser > 0)) throw new Error(`options.scenarios.${grouped.name}: exec "group" needs traffic.groupsPerUser > 0`);
  const names = executors.map((e) => e.name);
  const thresholds = parseThresholds(s.options.thresholds, names);
  const deliveryGraceMs = parseDurationMs(s.options.deliveryGrace ?? DELIVERY_GRACE_MS_DEFAULT, 'options.deliveryGrace');
  const iterationTimeoutMs = parseDurationMs(s.options.iterationTimeout ?? ITERATION_TIMEOUT_MS_DEFAULT, 'options.iterationTimeout');
  if (iterationTimeoutMs <= 0) throw new Error('options.iterationTimeout must be > 0');
  const breakpointThresholds = s.breakpoint ? parseThresholds(s.breakpoint.thresholds, names) : [];
  if (s.breakpoint) {
    parseDurationMs(s.breakpoint.window ?? '2s', 'breakpoint.window');
    if (s.breakpoint.scenario !== undefined && !names.includes(s.breakpoint.scenario)) {
      throw new Error(`breakpoint.scenario: no scenario named "${s.breakpoint.scenario}" (have ${names.join(', ')})`);
    }
  }
  // Executors acting on one user per iteration keep their iteration count when --duration stretches time.
  if (o.durationMs !== undefined) {
    const k = o.durationMs / natural;
    for (const e of executors) {
      if (e.exec === 'chat' || e.exec === 'group' || !e.executor.endsWith('arrival-rate')) continue;
      e.rate /= k;
      e.startRate /= k;
      e.stages = e.stages.map((st) => ({ ...st, target: st.target / k }));
    }
  }
  const topologySpec = o.topology ?? s.topology;
  const topology = topologySpec === undefined ? null
    : typeof topologySpec === 'object' ? parseTopology(`${topologySpec.gateways}x${topologySpec.chats}`, '--topology')
      : parseTopology(topologySpec, o.topology !== undefined ? '--topology' : 'topology');
  const store = parseStore(o.store ?? s.store, topology, o.store !== undefined ? '--store' : 'store');
  const counts = o.targetCounts ?? targetCounts(topology, s.system?.gateways ?? 1, store === 'cassandra' ? TOPOLOGY_CASSANDRA_NODES : 0);
  // The store is named only when it is Cassandra (the default store, shared SQLite, has no cassandra processes to count).
  const system = topology ? `topology ${topology.gateways}x${topology.chats}${store === 'cassandra' ? ' on the Cassandra cluster' : ''}`
    : 'the single-process system';
  const faults = resolveFaults(s.faults, windowMs, counts, o.durationMs !== undefined ? o.durationMs / natural : 1, system);
  return {
    scenario: s.name, description: s.description, traffic, executors, thresholds, deliveryGraceMs, iterationTimeoutMs,
    scale, scaleFactor: s.scale.factor * scale, windowMs, windowMaxMs,
    tagged: taggedMetrics([...thresholds, ...breakpointThresholds]),
    topology, store, faults,
  };
}

function resolveExecutor(name: string, index: number, cfg: ExecutorConfig, scale: number): ResolvedExecutor {
  const where = `options.scenarios.${name}`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`${where}: scenario names are letters, digits, _ and - (k6)`);
  // Own keys only: "toString" is `in` every object.
  if (!cfg || typeof cfg !== 'object' || !Object.hasOwn(KEYS, cfg.executor)) {
    throw new Error(`${where}.executor must be one of ${Object.keys(KEYS).join(', ')}, got ${describeValue((cfg as { executor?: unknown })?.executor)}`);
  }
  for (const k of Object.keys(cfg)) {
    if (!COMMON_KEYS.includes(k) && !KEYS[cfg.executor].includes(k)) throw new Error(`${where}: unknown field "${k}" for ${cfg.executor}`);
  }
  const exec = cfg.exec ?? 'chat';
  if (!WORKLOAD_NAMES.includes(exec)) throw new Error(`${where}.exec: "${exec}" is not a workload (have ${WORKLOAD_NAMES.join(', ')})`);
  const dur = (v: string | number | undefined, field: string, dflt?: number): number => {
    if (v === undefined) {
      if (dflt === undefined) throw new Error(`${where}.${field} is required`);
      return dflt;
    }
    return parseDurationMs(v, `${where}.${field}`);
  };
  const count = (v: number | undefined, field: string, min: number, dflt?: number): number => {
    const x = v ?? dflt;
    if (x === undefined) throw new Error(`${where}.${field} is required`);
    if (!Number.isFinite(x) || x < min) throw new Error(`${where}.${field} must be a number >= ${min}, got ${x}`);
    return x;
  };
  const scaledVus = (v: number) => Math.min(VUS_MAX, Math.max(1, Math.ceil(v * scale)));
  const base: ResolvedExecutor = {
    name, index, executor: cfg.executor, exec,
    startMs: dur(cfg.startTime, 'startTime', 0),
    durationMs: 0,
    gracefulStopMs: dur(cfg.gracefulStop, 'gracefulStop', GRACEFUL_STOP_MS_DEFAULT),
    timeUnitMs: 1000, rate: 0, startRate: 0, stages: [], preAllocatedVUs: 0, maxVUs: 0, vus: 0, startVUs: 0, iterations: 0,
    gracefulRampDownMs: 0,
  };
  const stages = (list: { duration: string | number; target: number }[] | undefined, scaleTargets: (t: number) => number): ResolvedStage[] => {
    if (!Array.isArray(list) || list.length === 0) throw new Error(`${where}.stages needs at least one { duration, target }`);
    return list.map((st, i) => ({
      durationMs: dur(st.duration, `stages[${i}].duration`),
      target: scaleTargets(count(st.target, `stages[${i}].target`, 0)),
    }));
  };
  switch (cfg.executor) {
    case 'constant-arrival-rate': {
      base.rate = count(cfg.rate, 'rate', Number.MIN_VALUE) * scale;
      base.timeUnitMs = dur(cfg.timeUnit, 'timeUnit', 1000);
      base.durationMs = dur(cfg.duration, 'duration');
      base.preAllocatedVUs = scaledVus(count(cfg.preAllocatedVUs, 'preAllocatedVUs', 1));
      base.maxVUs = Math.max(base.preAllocatedVUs, scaledVus(count(cfg.maxVUs, 'maxVUs', 1, cfg.preAllocatedVUs)));
      break;
    }
    case 'ramping-arrival-rate': {
      base.startRate = count(cfg.startRate, 'startRate', 0, 0) * scale;
      base.timeUnitMs = dur(cfg.timeUnit, 'timeUnit', 1000);
      base.stages = stages(cfg.stages, (t) => t * scale);
      base.durationMs = base.stages.reduce((a, st) => a + st.durationMs, 0);
      base.preAllocatedVUs = scaledVus(count(cfg.preAllocatedVUs, 'preAllocatedVUs', 1));
      base.maxVUs = Math.max(base.preAllocatedVUs, scaledVus(count(cfg.maxVUs, 'maxVUs', 1, cfg.preAllocatedVUs)));
      break;
    }
    case 'constant-vus': {
      base.vus = scaledVus(count(cfg.vus, 'vus', 1));
      base.durationMs = dur(cfg.duration, 'duration');
      break;
    }
    case 'ramping-vus': {
      base.startVUs = Math.ceil(count(cfg.startVUs, 'startVUs', 0, 1) * scale);
      base.stages = stages(cfg.stages, (t) => Math.ceil(t * scale));
      base.durationMs = base.stages.reduce((a, st) => a + st.durationMs, 0);
      base.gracefulRampDownMs = dur(cfg.gracefulRampDown, 'gracefulRampDown', GRACEFUL_STOP_MS_DEFAULT);
      base.vus = Math.max(base.startVUs, ...base.stages.map((st) => st.target));
      break;
    }
    case 'per-vu-iterations': {
      base.vus = scaledVus(count(cfg.vus, 'vus', 1));
      base.iterations = Math.round(count(cfg.iterations, 'iterations', 1));
      base.durationMs = dur(cfg.maxDuration, 'maxDuration', MAX_DURATION_MS_DEFAULT);
      break;
    }
  }
  if (!(base.durationMs > 0)) throw new Error(`${where}: the duration must be > 0`);
  if (base.maxVUs > VUS_MAX || base.vus > VUS_MAX) throw new Error(`${where}: more than ${VUS_MAX} VUs`);
  return base;
}

/**
 * An e2ee body is the plaintext plus at most this much: the first message of a session carries the
 * PQXDH prekey material (a Kyber-1024 ciphertext of 1,568 B, keys, MAC) and the envelope (021-e2ee.md).
 */
const E2EE_BODY_OVERHEAD_BYTES_MAX = 4096;

function validateE2ee(t: TrafficModel, w: string): void {
  if (t.e2eeWarmup !== undefined && typeof t.e2eeWarmup !== 'boolean') throw new Error(`${w}.e2eeWarmup must be true or false`);
  if (t.e2ee === undefined || t.e2ee === false) return;
  if (t.e2ee !== true) throw new Error(`${w}.e2ee must be true or false`);
  validateDistribution(t.messageBytes, `${w}.messageBytes (with e2ee)`, PAYLOAD_HEADER_BYTES, DEFAULT_LIMITS.text_bytes_max - E2EE_BODY_OVERHEAD_BYTES_MAX);
}

function share(v: number, what: string): void {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`${what} must be a share within 0..1, got ${v}`);
}

export function validateTraffic(t: TrafficModel, scenario: string): TrafficModel {
  const w = `scenario ${scenario}: traffic`;
  if (!Number.isInteger(t.users) || t.users < 2) throw new Error(`${w}.users must be an integer >= 2`);
  share(t.onlineShare, `${w}.onlineShare`);
  if (!Number.isInteger(t.contactsPerUser) || t.contactsPerUser < 1 || t.contactsPerUser > CONTACTS_PER_USER_MAX) {
    throw new Error(`${w}.contactsPerUser must be an integer within 1..${CONTACTS_PER_USER_MAX}`);
  }
  share(t.groupShare, `${w}.groupShare`);
  validateDistribution(t.groupSize, `${w}.groupSize`, 2, DEFAULT_LIMITS.group_members_max);
  if (!(t.groupsPerUser >= 0)) throw new Error(`${w}.groupsPerUser must be >= 0`);
  if (t.groupShare > 0 && t.groupsPerUser <= 0) throw new Error(`${w}: groupShare > 0 needs groupsPerUser > 0`);
  validateDistribution(t.messageBytes, `${w}.messageBytes`, PAYLOAD_HEADER_BYTES, DEFAULT_LIMITS.text_bytes_max);
  share(t.mediaShare, `${w}.mediaShare`);
  share(t.readReceipts?.probability, `${w}.readReceipts.probability`);
  validateDistribution(t.readReceipts.delayMs, `${w}.readReceipts.delayMs`, 0, 3_600_000);
  if (!(t.ackDelayMs >= 0 && t.ackDelayMs <= 10_000)) throw new Error(`${w}.ackDelayMs must be within 0..10000`);
  share(t.reconnect?.dropShare, `${w}.reconnect.dropShare`);
  validateDistribution(t.mediaBytes ?? DEFAULT_TRAFFIC.mediaBytes!, `${w}.mediaBytes`, 1, MEDIA_FILE_BYTES_MAX);
  validateE2ee(t, w);
  void meanOf;
  void maxOf;
  return { ...t, readReceipts: { ...t.readReceipts }, reconnect: { ...t.reconnect } };
}
