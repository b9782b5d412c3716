// zone-loss: a third of every tier lost at once (the capacity model's
// what-if of losing one of three zones), measured at this scale: on a 3x3
// system one gateway and one chat node are killed together (kill -9) and come
// back 10 s later; with the Cassandra store (`--store cassandra`: a 3-node
// cluster) one of its three nodes goes with them (RF=3, LOCAL_QUORUM: writes
// continue). The
// survivors carry the whole fanout mix meanwhile. Judged on integrity; the
// FAULTS block gives the time until every probe chat was served again and the
// sends that failed and were retried (the faults share one span).
//
// Needs: the multi-node topology (topology '3x3': HAProxy, 3 gateways, 3 chat
// nodes, etcd, Redis, a shared store), which
// `loadgen run` starts (deploy/topology.ts) in cluster mode. Run here (2026-12-06, --scale 0.1): a gateway and a chat node lost at once,
// with 1 of 3 etcd members too: served again after 2.39 s, 0 failed sends of 2,256 (6 retried); 0 lost.
// `loadgen run` sets WA_LOADGEN_STORE from --store before it loads a scenario,
// so the Cassandra node joins the loss only when the store has one.
import { INTEGRITY_THRESHOLDS, warmupThenSteady } from '../loadgen/model/fault-runs';
import { defineScenario, type FaultSpec } from '../loadgen/model/scenario';
import fanout from './fanout';

const PRODUCTION_MSGS_PER_S = 1.16e6;
/** Lower than fanout's 1,500: the box also runs HAProxy, etcd, Redis and six server processes. */
const RATE = 800;
const USERS = 6000;
const LOSS_AT = '10s';
const LOSS_FOR = '10s';

const lost: FaultSpec[] = [
  { at: LOSS_AT, target: 'gateway', index: 0, action: 'kill', for: LOSS_FOR },
  { at: LOSS_AT, target: 'chat', index: 0, action: 'kill', for: LOSS_FOR },
  { at: LOSS_AT, target: 'etcd', index: 0, action: 'kill', for: LOSS_FOR },
];
if (process.env.WA_LOADGEN_STORE === 'cassandra') lost.push({ at: LOSS_AT, target: 'cassandra', index: 0, action: 'kill', for: LOSS_FOR });

export default defineScenario({
  name: 'zone-loss',
  description: `A third of every tier (1 of 3 gateways, 1 of 3 chat nodes, 1 of 3 etcd members, 1 of 3 Cassandra nodes when used) killed at ${LOSS_AT} for ${LOSS_FOR} under the fanout mix.`,
  production: {
    ...fanout.production,
    notes: `${fanout.production.notes} One of three zones is lost: a third of every tier at once; the rest must carry its load.`,
  },
  scale: {
    factor: RATE / PRODUCTION_MSGS_PER_S,
    basis: `${RATE} msg/s and ${USERS} users over 3 gateways and 3 chat nodes on this 2-core box (with the generator).`,
  },
  traffic: { ...fanout.traffic, users: USERS },
  topology: '3x3',
  faults: lost,
  options: {
    scenarios: warmupThenSteady(RATE, 26),
    thresholds: {
      ...INTEGRITY_THRESHOLDS,
    },
    deliveryGrace: '10s',
    iterationTimeout: '15s',
  },
});
