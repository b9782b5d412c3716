// Fault targets on the single-process system (deploy/local-system.ts): `chat`
// is its one chat service, `gateway` i its gateway i. A restarted chat service
// keeps its port (gateways relink to it). A restarted gateway gets a new port:
// the old one cannot be bound again while the TIME_WAIT sockets its clients'
// connections left behind hold it (uWS listens without SO_REUSEADDR), so here
// the users of a killed gateway cannot come back to it (the service probe
// follows the new port). In the topology HAProxy is the one stable address.
// There is no Redis, etcd, Cassandra or HAProxy here: their count is 0.
import type { RunningSystem } from '../../deploy/local-system';
import type { FaultTarget } from '../model/faults';
import type { FaultTargets } from './fault-targets';

export function localFaultTargets(system: RunningSystem): FaultTargets {
  const none = (target: FaultTarget): never => {
    throw new Error(`the single-process system has no ${target} process`);
  };
  const gateway = (i: number): number => {
    if (!(i >= 0 && i < system.gateways.length)) throw new Error(`the single-process system has no gateway[${i}]`);
    return i;
  };
  return {
    description: 'the single-process system',
    count: (target) => (target === 'chat' ? 1 : target === 'gateway' ? system.gateways.length : 0),
    kill: async (target, i) => {
      if (target === 'chat' && i === 0) return system.killChat();
      if (target === 'gateway') return system.killGateway(gateway(i));
      none(target);
    },
    pause: async (target, i) => {
      if (target === 'chat' && i === 0) return system.pauseChat();
      if (target === 'gateway') return system.pauseGateway(gateway(i));
      none(target);
    },
    resume: async (target, i) => {
      if (target === 'chat' && i === 0) return system.resumeChat();
      if (target === 'gateway') return system.resumeGateway(gateway(i));
      none(target);
    },
    stop: async (target, i) => {
      if (target === 'chat' && i === 0) return system.stopChat();
      if (target === 'gateway') return system.stopGateway(gateway(i));
      none(target);
    },
    start: async (target, i) => {
      if (target === 'chat' && i === 0) return system.restartChat();
      if (target === 'gateway') return system.restartGateway(gateway(i));
      none(target);
    },
  };
}
