// reconnect-flood: half the users lose their connection at once (a network
// blip, a gateway restart), the others keep writing to them so their offline
// queues fill, then they all come back within a few seconds. Measured: the
// time until every offline queue is drained (first reconnect -> last
// DrainDone), each user's drain time, and offline delivery latency (from the
// moment a user starts reconnecting to each queued message) against the
// seed's "offline delivery < 500 ms".
import { DEFAULT_TRAFFIC, defineScenario } from '../loadgen/model/scenario';

const PRODUCTION_USERS = 2e9;
const PRODUCTION_MSGS_PER_S = 1.16e6;
const USERS = 6000;
const DROP_SHARE = 0.5;
const DROPPED = USERS * DROP_SHARE;
const RATE = 1500;
const COMEBACK_S = 3;

export default defineScenario({
  name: 'reconnect-flood',
  description: 'Half the users drop, the rest keep sending to them for 10 s, then all come back within 3 s: time to drain every offline queue.',
  production: {
    users: PRODUCTION_USERS,
    messagesPerSecond: PRODUCTION_MSGS_PER_S,
    notes: 'A blip that disconnects a region: ~50% of its users drop and return within seconds to queued messages; offline delivery < 500 ms.',
  },
  scale: {
    factor: RATE / PRODUCTION_MSGS_PER_S,
    basis: `${USERS} users (${DROPPED} drop and return in ${COMEBACK_S} s: ${Math.round(DROPPED / COMEBACK_S)} reconnects/s, each draining its queue) ` +
      `at ${RATE} msg/s of background traffic: one gateway's share of a regional blip on this 2-core box.`,
  },
  // The defaults (seed-sized 1:1 messages, everyone online, no read receipts) but for:
  traffic: { ...DEFAULT_TRAFFIC, users: USERS, reconnect: { dropShare: DROP_SHARE } },
  options: {
    scenarios: {
      chatter: {
        executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: '18s',
        preAllocatedVUs: 200, maxVUs: 3000, gracefulStop: '5s', exec: 'chat',
      },
      drop: {
        executor: 'per-vu-iterations', vus: DROPPED, iterations: 1, maxDuration: '2s', startTime: '2s', exec: 'disconnect',
      },
      flood: {
        executor: 'constant-arrival-rate', rate: DROPPED / COMEBACK_S, timeUnit: '1s', duration: `${COMEBACK_S}s`, startTime: '12s',
        preAllocatedVUs: DROPPED, maxVUs: DROPPED, gracefulStop: '20s', exec: 'reconnect',
      },
    },
    thresholds: {
      offline_delivery_latency: ['p(99)<500'],
      drain_time: ['p(99)<500'],
      'dropped_iterations{scenario:flood}': ['count==0'],
      reconnect_success: ['rate>0.99'],
      delivery_lost: ['count==0'],
      delivery_duplicated: ['count==0'],
      delivery_out_of_order: ['count==0'],
      delivery_queued_offline: ['count==0'],
    },
    deliveryGrace: '10s',
    iterationTimeout: '30s',
  },
});
