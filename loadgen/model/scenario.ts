// What a scenario file (scenarios/<name>.ts) exports: a traffic model, the
// production figures it stands for and the factor that scales them onto this
// machine, plus k6-style `options` (scenarios with executors, thresholds).
//
// An SRE who knows k6 reads `options` as k6 options: the executor names,
// their fields (rate, timeUnit, duration, preAllocatedVUs, maxVUs, stages,
// vus, iterations, startTime, gracefulStop, exec) and the threshold syntax
// are k6's. What differs: `exec` names one of the load generator's built-in
// workloads (loadgen/workloads/) instead of a JavaScript function, because
// every iteration runs inside a worker thread that owns the connections.
//
//   export default defineScenario({
//     name: 'smoke', description: '...', production: {...}, scale: {...},
//     traffic: {...},
//     options: {
//       scenarios: { chat: { executor: 'constant-arrival-rate', rate: 500, timeUnit: '1s',
//                            duration: '5s', preAllocatedVUs: 50, maxVUs: 500, exec: 'chat' } },
//       thresholds: { delivery_latency: ['p(99)<250'], delivery_lost: ['count==0'] },
//     },
//   });

import type { FaultSpec } from './faults';

/** k6 duration: "30s", "1m30s", "500ms"; a number is milliseconds. */
export type Duration = string | number;
export type { FaultSpec, FaultTarget, FaultAction } from './faults';

/**
 * A distribution of non-negative numbers (sizes in bytes, delays in ms, group sizes).
 * A plain number is fixed; `uniform` draws from [min, max]; `weighted` picks a value
 * with probability proportional to its weight.
 */
export type Distribution = number | { uniform: [number, number] } | { weighted: [value: number, weight: number][] };

/**
 * The workloads an iteration can run (loadgen/workloads/): `chat` sends one message (to a group
 * with probability groupShare, else 1:1), `group` sends one message to a group, `disconnect` and
 * `reconnect` drop and bring back users, `idle` does nothing (a phase that only holds the connections).
 */
export type WorkloadName = 'chat' | 'group' | 'disconnect' | 'reconnect' | 'idle';
export const WORKLOAD_NAMES: readonly WorkloadName[] = ['chat', 'group', 'disconnect', 'reconnect', 'idle'];

export interface TrafficModel {
  /** Simulated users at scale 1 (each is one connection while online). */
  users: number;
  /** Share of users connected when the measured window starts (the rest exist but are offline). */
  onlineShare: number;
  /** Distinct 1:1 partners each user writes to (in turn, so each gets an equal share). */
  contactsPerUser: number;
  /** Share of the `chat` workload's sends that go to a group instead of a 1:1 chat. */
  groupShare: number;
  /** Members per group, creator included (2 .. the server's group_members_max, 256). */
  groupSize: Distribution;
  /**
   * Groups each user belongs to (the world's group count is users * groupsPerUser / mean group size).
   * Groups are formed inside each worker thread's slice of users (senders and recipients share a clock),
   * so a group is at most that slice's size.
   */
  groupsPerUser: number;
  /** Message body size in bytes (the seed's average is 100 bytes). */
  messageBytes: Distribution;
  /**
   * Share of the `chat` workload's sends that are 1:1 media messages: the sender encrypts a file, uploads it
   * over the gateway's HTTP media endpoint, then sends the reference; the recipient downloads, decrypts, verifies.
   */
  mediaShare: number;
  /** A media file's plaintext size in bytes (1 .. MEDIA_FILE_BYTES_MAX); default 64 KiB so runs stay light. */
  mediaBytes?: Distribution;
  /**
   * End-to-end encryption of the `chat` workload's 1:1 messages (real system only): each user's one device
   * registers its keys in the key directory when it first connects, fetches a peer's bundle on its first
   * message to it, and every body is encrypted with libsignal by the sender and decrypted by the recipient
   * (the load header travels inside the ciphertext). Group messages use sender keys: a sender's key goes to
   * every other member over 1:1 before its first message to the group, then one ciphertext per message (docs/design/021-e2ee.md).
   */
  e2ee?: boolean;
  /**
   * With e2ee: set up, before the measured window, each online user's sessions with its contacts (two-way)
   * and the sender keys of each group's first senders, so the window measures established sessions
   * (default true). false keeps every session cold for the window (the key-storm scenario).
   */
  e2eeWarmup?: boolean;
  /** Recipients mark a message read with this probability, after this delay (ms). */
  readReceipts: { probability: number; delayMs: Distribution };
  /** Clients coalesce delivery acks over this many ms (the protocol's cumulative ack). */
  ackDelayMs: number;
  /** Reconnect behaviour: the share of online users that the `disconnect`/`reconnect` workloads act on. */
  reconnect: { dropShare: number };
}

/** The production load a scenario stands for (the seed's figures). */
export interface ProductionFigures {
  users: number;
  messagesPerSecond: number;
  /** Anything else the model assumes, in words (peak-to-average, online share, ...). */
  notes: string;
}

/** How production maps onto this machine: load here = production x factor (times --scale). */
export interface ScaleNote {
  /** Multiplier from production messages/s to this scenario's rate at --scale 1. */
  factor: number;
  /** Why this factor (what it was sized against). */
  basis: string;
}

export interface Stage {
  duration: Duration;
  /** Iterations per timeUnit (arrival-rate executors) or VUs (ramping-vus) at the end of the stage. */
  target: number;
}

interface ExecutorBase {
  /** When this scenario starts, from the start of the measured window. */
  startTime?: Duration;
  /** How long iterations still running at the end may take to finish (k6 default 30s). */
  gracefulStop?: Duration;
  /** The workload each iteration runs (default 'chat'). */
  exec?: WorkloadName;
}

export interface ConstantArrivalRate extends ExecutorBase {
  executor: 'constant-arrival-rate';
  rate: number;
  timeUnit?: Duration;
  duration: Duration;
  preAllocatedVUs: number;
  maxVUs?: number;
}

export interface RampingArrivalRate extends ExecutorBase {
  executor: 'ramping-arrival-rate';
  startRate?: number;
  timeUnit?: Duration;
  stages: Stage[];
  preAllocatedVUs: number;
  maxVUs?: number;
}

export interface ConstantVus extends ExecutorBase {
  executor: 'constant-vus';
  vus: number;
  duration: Duration;
}

export interface RampingVus extends ExecutorBase {
  executor: 'ramping-vus';
  startVUs?: number;
  stages: Stage[];
  gracefulRampDown?: Duration;
}

export interface PerVuIterations extends ExecutorBase {
  executor: 'per-vu-iterations';
  vus: number;
  iterations: number;
  maxDuration?: Duration;
}

export type ExecutorConfig = ConstantArrivalRate | RampingArrivalRate | ConstantVus | RampingVus | PerVuIterations;
export type ExecutorName = ExecutorConfig['executor'];

/** k6 threshold: an expression, or an object with abortOnFail / delayAbortEval. */
export type ThresholdSpec = string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: Duration };

export interface Options {
  scenarios: Record<string, ExecutorConfig>;
  /** metric (optionally with a {scenario:<name>} tag) -> threshold expressions. */
  thresholds?: Record<string, ThresholdSpec[]>;
  /** After the last iteration, how long to wait for in-flight deliveries before counting them lost (default 5s). */
  deliveryGrace?: Duration;
  /** An iteration whose reply (sent ack, delivery, drain) has not come after this is failed (default 10s). */
  iterationTimeout?: Duration;
}

/** The system this scenario wants when the load generator starts it (no --target). */
export interface SystemShape {
  gateways?: number;
  /** Limit overrides (WA_<LIMIT>) for the started system. */
  env?: Record<string, string>;
}

/** Breakpoint analysis: find the last window in which every listed threshold held. */
export interface BreakpointSpec {
  /** The executor whose ramp is judged (only windows while it runs count; default: the whole run). */
  scenario?: string;
  /** Thresholds judged per window, on that window's samples only (e.g. { delivery_latency: ['p(99)<100'] }). */
  thresholds: Record<string, string[]>;
  /** Window length (default 2s). */
  window?: Duration;
  /** Failing windows must last this long to count as the break (default 4s); shorter runs are blips. */
  sustain?: Duration;
}

export interface Scenario {
  name: string;
  description: string;
  production: ProductionFigures;
  scale: ScaleNote;
  traffic: TrafficModel;
  options: Options;
  system?: SystemShape;
  breakpoint?: BreakpointSpec;
  /**
   * The multi-node system this scenario wants, 'GxM' (G gateways behind HAProxy, M chat nodes, Redis, etcd);
   * `loadgen run --topology` overrides it. Absent: the single-process system (one chat service).
   */
  topology?: string;
  /**
   * The topology's shared store: 'sqlite' (default: one SQLite file, WAL) or 'cassandra' (a local 3-node
   * Cassandra 5 cluster, RF=3, LOCAL_QUORUM; its nodes are fault targets). `loadgen run --store` overrides it.
   */
  store?: string;
  /** Processes killed, paused, stopped or restarted during the run (./faults.ts). */
  faults?: FaultSpec[];
}

/** Identity function that gives scenario files type checking and completion. */
export function defineScenario(s: Scenario): Scenario {
  return s;
}

/** The traffic model's defaults: the seed's 100-byte messages, 1:1 only, everyone online. */
export const DEFAULT_TRAFFIC: Readonly<TrafficModel> = Object.freeze({
  users: 100,
  onlineShare: 1,
  contactsPerUser: 4,
  groupShare: 0,
  groupSize: 32,
  groupsPerUser: 0,
  messageBytes: 100,
  mediaShare: 0,
  mediaBytes: 64 * 1024,
  e2ee: false,
  readReceipts: { probability: 0, delayMs: 0 },
  ackDelayMs: 5,
  reconnect: { dropShare: 0 },
});
