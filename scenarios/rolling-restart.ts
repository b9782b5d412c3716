// rolling-restart: a deployment under load. Every chat node, then every
// gateway, is restarted in turn (graceful stop, start at once) while the
// fanout mix runs; the goal is that users never notice: zero failed sends
// (none refused, none left unacknowledged, none timed out), nothing lost,
// duplicated or reordered. The FAULTS block of the summary gives each
// restart's time until every probe chat was served again.
//
// Needs: the multi-node topology (topology '2x3': HAProxy, 2 gateways, 3 chat
// nodes, etcd, Redis, a shared store), which
// `loadgen run` starts (deploy/topology.ts) in cluster mode. Run here (2026-12-06, --scale 0.1): 5 restarts, 0 failed sends of 3,056
// (56 retried), each chat node served again within 0.5-1.0 s; 0 lost.
// Gateways drain on SIGTERM (/healthz 503, HAProxy stops sending them new
// connections) and the client outbox resends what a closed connection held.
import { INTEGRITY_THRESHOLDS, warmupThenSteady } from '../loadgen/model/fault-runs';
import { defineScenario } from '../loadgen/model/scenario';
import fanout from './fanout';

const PRODUCTION_MSGS_PER_S = 1.16e6;
/** Lower than fanout's 1,500: the box also runs HAProxy, etcd, Redis and five server processes. */
const RATE = 800;
const USERS = 6000;
/** One restart every STEP_S seconds: chat-0, chat-1, chat-2, gateway-0, gateway-1. */
const STEP_S = 6;
const FIRST_S = 6;
const RESTARTS = [['chat', 0], ['chat', 1], ['chat', 2], ['gateway', 0], ['gateway', 1]] as const;

export default defineScenario({
  name: 'rolling-restart',
  description: `Every chat node and gateway of a 2x3 system restarted in turn, one every ${STEP_S} s, under the fanout mix; goal: zero failed sends.`,
  production: {
    ...fanout.production,
    notes: `${fanout.production.notes} A rolling deployment: every node restarts once, one at a time, at peak.`,
  },
  scale: {
    factor: RATE / PRODUCTION_MSGS_PER_S,
    basis: `${RATE} msg/s and ${USERS} users over 2 gateways and 3 chat nodes on this 2-core box (with the generator).`,
  },
  traffic: { ...fanout.traffic, users: USERS },
  topology: '2x3',
  faults: RESTARTS.map(([target, index], k) => ({ at: `${FIRST_S + k * STEP_S}s`, target, index, action: 'restart' as const })),
  options: {
    scenarios: warmupThenSteady(RATE, FIRST_S + RESTARTS.length * STEP_S),
    thresholds: {
      // Zero failed sends: none refused, none left without a `sent` ack, none timed out.
      messages_rejected: ['count==0'],
      messages_unacknowledged: ['count==0'],
      iteration_timeouts: ['count==0'],
      ...INTEGRITY_THRESHOLDS,
    },
    deliveryGrace: '10s',
    iterationTimeout: '15s',
  },
});
