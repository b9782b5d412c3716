// The processes a fault acts on, behind one small interface, so the fault
// executor does not know which system it runs against: the single-process
// system (./local-fault-targets.ts) or the multi-node topology, whose
// ManagedProcess handles (deploy/services/managed-process.ts) map one to one:
// kill -> kill(), pause -> pause(), resume -> resume(), stop -> stop(),
// start -> restart() (the same command, arguments and environment).
import type { FaultTarget } from '../model/faults';

export interface FaultTargets {
  /** What the processes belong to, for messages ("the single-process system", "topology 2x3"). */
  readonly description: string;
  /** How many processes the target has (0: none; a fault on it is refused before the run). */
  count(target: FaultTarget): number;
  /** SIGKILL and wait for the exit. */
  kill(target: FaultTarget, i: number): Promise<void>;
  /** SIGSTOP: frozen, sockets open, until resume(). */
  pause(target: FaultTarget, i: number): Promise<void>;
  /** SIGCONT. */
  resume(target: FaultTarget, i: number): Promise<void>;
  /** SIGTERM (graceful) and wait for the exit. */
  stop(target: FaultTarget, i: number): Promise<void>;
  /** Start a process that was killed or stopped, and wait until it serves (its readiness check). */
  start(target: FaultTarget, i: number): Promise<void>;
  /** Network fault: cut the process off from etcd / heal it (absent: this system cannot). */
  isolate?(target: FaultTarget, i: number): Promise<void>;
  heal?(target: FaultTarget, i: number): Promise<void>;
}

/** What a run's faults act on, where its service probe connects, and what the system says of its readiness. */
export interface FaultSide {
  targets: FaultTargets;
  /** The URLs a client may connect to now (HAProxy's one, or every gateway's). */
  probeUrls: () => string[];
  /** Server side: is every gateway up and routing every partition? (polled; a slow answer is "no") */
  ready: () => Promise<boolean>;
  /** What `ready` checks, for the report. */
  readyMeaning: string;
}
