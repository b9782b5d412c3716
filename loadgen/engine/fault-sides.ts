// The one place that knows both systems a run can start: from the started
// target to what faults act on (./fault-targets.ts FaultSide), for the
// single-process system and for the multi-node topology.
import { gatewayReady, type GatewayHealth } from '../../deploy/topology';
import type { FaultSide } from './fault-targets';
import { localFaultTargets } from './local-fault-targets';
import type { LocalTarget } from './local-target';
import { topologyFaultTargets } from './topology-fault-targets';

/** A gateway that has not answered /healthz within this is not ready. */
const HEALTH_TIMEOUT_MS = 1000;

const allTrue = async (checks: Promise<boolean>[]) => (await Promise.all(checks)).every(Boolean);

export function faultSideOf(local: LocalTarget): FaultSide {
  const topo = local.topology;
  if (topo) {
    return {
      targets: topologyFaultTargets(topo, `topology ${topo.opts.gateways}x${topo.opts.chats}`, topo.cassandra?.nodes ?? [],
        (i) => topo.restartCassandra(i)),
      probeUrls: () => [topo.url],
      ready: () => allTrue(topo.gateways.map((_, i) => topo.gatewayHealth(i).then(gatewayReady, () => false))),
      readyMeaning: 'every gateway answers /healthz with every partition routable (cluster.partitions_routable = 1024; before cluster mode: chat_link up)',
    };
  }
  const system = local.singleProcess;
  if (!system) throw new Error('faults need the system started by loadgen');
  const health = (i: number) => fetch(`${system.gatewayHttp(i)}/healthz`, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) })
    .then(async (r) => gatewayReady((await r.json()) as GatewayHealth), () => false);
  return {
    targets: localFaultTargets(system),
    probeUrls: () => system.gatewayPorts.map((p) => `ws://127.0.0.1:${p}/v1/ws`),
    ready: () => allTrue(system.gateways.map((_, i) => health(i))),
    readyMeaning: 'every gateway answers /healthz with its chat link up',
  };
}
