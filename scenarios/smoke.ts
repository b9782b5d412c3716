// smoke: a few seconds of the seed's 1:1 traffic at a small fraction of one
// node's capacity. `make run` and CI run it: if this fails, something basic
// is broken (messages lost, duplicated, reordered, or latency way off).
import { defineScenario } from '../loadgen/model/scenario';

const PRODUCTION_MSGS_PER_S = 1.16e6; // the seed: 100B messages/day
const RATE = 1000; // msgs/s here at --scale 1

export default defineScenario({
  name: 'smoke',
  description: 'Seconds-long 1:1 sanity load with receipts: nothing lost, duplicated or reordered; latency sane.',
  production: {
    users: 2e9,
    messagesPerSecond: PRODUCTION_MSGS_PER_S,
    notes: 'The seed: 2B users, 100B messages/day (1.16M msg/s average), 100-byte messages, real-time delivery < 100 ms.',
  },
  scale: {
    factor: RATE / PRODUCTION_MSGS_PER_S,
    basis: '1000 msg/s: a small fraction of what one 2-core box carries, so a noisy CI machine stays far from saturation.',
  },
  traffic: {
    users: 200,
    onlineShare: 1,
    contactsPerUser: 4,
    groupShare: 0,
    groupSize: 32,
    groupsPerUser: 0,
    messageBytes: { weighted: [[60, 3], [100, 5], [400, 2]] },
    mediaShare: 0,
    readReceipts: { probability: 0.5, delayMs: { uniform: [20, 200] } },
    ackDelayMs: 5,
    reconnect: { dropShare: 0 },
  },
  options: {
    scenarios: {
      // Opens every chat (200 users x 4 contacts = 800 < 1000 messages) and warms the JIT of both
      // ends; judged only on integrity.
      warmup: {
        executor: 'constant-arrival-rate', rate: RATE / 2, timeUnit: '1s', duration: '2s',
        preAllocatedVUs: 50, maxVUs: 1000, gracefulStop: '2s', exec: 'chat',
      },
      chat: {
        executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: '5s', startTime: '2s',
        preAllocatedVUs: 100, maxVUs: 1000, gracefulStop: '5s', exec: 'chat',
      },
    },
    thresholds: {
      // Latency is judged on the measured scenario only (k6's tagged sub-metrics).
      'delivery_latency{scenario:chat}': ['p(99)<250'],
      'sent_ack_latency{scenario:chat}': ['p(99)<250'],
      delivery_lost: ['count==0'],
      delivery_duplicated: ['count==0'],
      delivery_out_of_order: ['count==0'],
      send_success: ['rate>0.999'],
      'dropped_iterations{scenario:chat}': ['count==0'],
    },
    deliveryGrace: '5s',
  },
});
