// fanout: the seed's steady state, scaled onto this machine: 1:1 chats
// between contacts, everyone's messages fanned out to online devices, the
// rest queued for offline recipients, delivered and read receipts flowing
// back (the seed's estimate counts none of that return traffic). Judged on
// the seed's real-time target: delivery < 100 ms at p99.
//
// Production: 100B messages/day = 1.16M msg/s on average over 2B users,
// 100-byte messages. Here: RATE msg/s over USERS users. Each simulated user
// sends far more than a real one (RATE/USERS vs 1.16M/2B = 0.00058 msg/s),
// because one box cannot hold the connections of the ~6.9M real users whose
// traffic RATE stands for; connections are scaled by the user factor,
// message work by the rate factor. 30% of sends go to groups of mean size ~8
// (tools/capacity-model/fleet-model.ts: group_message_share, group_members_mean), so
// each send becomes ~2.7 deliveries.
import { defineScenario } from '../loadgen/model/scenario';

const PRODUCTION_USERS = 2e9;
const PRODUCTION_MSGS_PER_S = 1.16e6;
/** Sized on this 2-core box with the generator on it (see docs/design/011-load-scenarios.md). */
const RATE = 1500;
const USERS = 10_000;

export default defineScenario({
  name: 'fanout',
  description: "The seed's steady-state mix (70% 1:1, 30% groups) with receipts and offline recipients, at a per-node rate; p99 delivery < 100 ms.",
  production: {
    users: PRODUCTION_USERS,
    messagesPerSecond: PRODUCTION_MSGS_PER_S,
    notes: '100B msgs/day (average, no peak factor), 100-byte messages, 30% of sends to groups of ~8, ~70% of users online, ' +
      '~80% of messages read within seconds.',
  },
  scale: {
    factor: RATE / PRODUCTION_MSGS_PER_S,
    basis: `${RATE} msg/s and ${USERS} users: a rate this 2-core box carries with p99 < 100 ms while also running the generator; ` +
      `connections x ${(USERS / PRODUCTION_USERS).toExponential(1)} of production.`,
  },
  traffic: {
    users: USERS,
    onlineShare: 0.7,
    contactsPerUser: 8,
    groupShare: 0.3,
    // Mean 7.8 members: mostly family/friends groups, a few large ones up to the 256 limit.
    groupSize: { weighted: [[3, 5], [6, 3], [12, 1.5], [32, 0.45], [256, 0.05]] },
    groupsPerUser: 2,
    messageBytes: { weighted: [[40, 3], [100, 5], [300, 1.5], [1000, 0.5]] },
    mediaShare: 0,
    readReceipts: { probability: 0.8, delayMs: { uniform: [200, 5000] } },
    ackDelayMs: 5,
    reconnect: { dropShare: 0 },
  },
  options: {
    scenarios: {
      warmup: {
        executor: 'ramping-arrival-rate', startRate: RATE / 10, timeUnit: '1s',
        stages: [{ duration: '4s', target: RATE }], preAllocatedVUs: 100, maxVUs: 2000, gracefulStop: '5s', exec: 'chat',
      },
      steady: {
        executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: '20s', startTime: '4s',
        preAllocatedVUs: 200, maxVUs: 4000, gracefulStop: '5s', exec: 'chat',
      },
    },
    thresholds: {
      'delivery_latency{scenario:steady}': ['p(99)<100', 'p(50)<20'],
      'sent_ack_latency{scenario:steady}': ['p(99)<100'],
      'dropped_iterations{scenario:steady}': ['count==0'],
      delivery_lost: ['count==0'],
      delivery_duplicated: ['count==0'],
      delivery_out_of_order: ['count==0'],
      send_success: ['rate>0.999'],
    },
    deliveryGrace: '5s',
  },
});
