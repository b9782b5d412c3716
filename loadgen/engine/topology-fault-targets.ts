// Fault targets on the multi-node topology (deploy/topology.ts): each role's
// processes are ManagedProcess handles (deploy/services/managed-process.ts),
// so kill is kill -9, pause/resume SIGSTOP/SIGCONT, stop a graceful SIGTERM,
// and start the topology's restart (same command, ports and data; it waits
// until the process is ready and, for a chat node or a store service, until
// every gateway routes every partition again). Written against the shape of
// the topology (ProcessTopology), not its module, so the load generator does
// not depend on how the topology is started; Cassandra nodes come from the
// Cassandra launcher when the store is the cluster.
import type { FaultTarget } from '../model/faults';
import type { FaultTargets } from './fault-targets';

/** The roles a topology has processes for (every fault target but Cassandra). */
export type TopologyRoleName = Exclude<FaultTarget, 'cassandra'>;

/** A process a fault can act on (what ManagedProcess offers). */
export interface FaultableProcess {
  readonly running: boolean;
  kill(): Promise<void>;
  pause(): void;
  resume(): void;
  stop(timeoutMs?: number): Promise<void>;
}

/** What the fault executor needs of a topology (deploy/topology.ts: Topology has these). */
export interface ProcessTopology {
  processes(role: TopologyRoleName): FaultableProcess[];
  /** Start the process again (stopping it first if it still runs) and wait until it serves. */
  restart(role: TopologyRoleName, i: number): Promise<void>;
  /** Network fault: cut a chat node off from etcd, and heal it. */
  isolate(role: TopologyRoleName, i: number): void;
  heal(role: TopologyRoleName, i: number): void;
}

export function topologyFaultTargets(topology: ProcessTopology, description: string, cassandra: FaultableProcess[] = [],
  restartCassandra?: (i: number) => Promise<void>): FaultTargets {
  const proc = (target: FaultTarget, i: number): FaultableProcess => {
    const list = target === 'cassandra' ? cassandra : topology.processes(target);
    const p = list[i];
    if (!p) throw new Error(`${description} has no ${target}[${i}] (${list.length} ${target} process(es))`);
    return p;
  };
  return {
    description,
    count: (target) => (target === 'cassandra' ? cassandra : topology.processes(target)).length,
    kill: async (target, i) => proc(target, i).kill(),
    pause: async (target, i) => proc(target, i).pause(),
    resume: async (target, i) => proc(target, i).resume(),
    stop: async (target, i) => proc(target, i).stop(),
    isolate: async (target, i) => {
      if (target === 'cassandra') throw new Error(`${description}: isolate acts on chat nodes`);
      topology.isolate(target, i);
    },
    heal: async (target, i) => {
      if (target !== 'cassandra') topology.heal(target, i);
    },
    start: async (target, i) => {
      proc(target, i);
      if (target !== 'cassandra') return topology.restart(target, i);
      if (!restartCassandra) throw new Error(`${description}: no way to start cassandra[${i}] again`);
      return restartCassandra(i);
    },
  };
}
