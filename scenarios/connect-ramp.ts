// connect-ramp: connections, not messages. Every user starts offline; the
// `ramp` phase opens their connections at a rising rate (each connect is the
// whole path: TCP + upgrade with the token check at the gateway, the session
// registered with the chat service, the offline queue drained: DrainDone),
// then the `hold` phase keeps them all open with no traffic at all. The
// summary's CONNECTIONS block (reports.connections) gives connects/s achieved,
// connect latency, memory per connection on the generator and on the
// gateways, and both sides' CPU while merely holding the connections.
import { DEFAULT_TRAFFIC, defineScenario } from '../loadgen/model/scenario';

const PRODUCTION_USERS = 2e9;
const PRODUCTION_MSGS_PER_S = 1.16e6;
/** Held at --scale 1: below the 20,000 descriptors one generator process may open here. */
const USERS = 15_000;
/** The ramp's rates (connects/s) and length: its area, (start + end) / 2 x length, is USERS: every user is scheduled once. */
const RATE_START = 1_000;
const RATE_END = 7_000;
const RAMP_S = 3.75;
/** The hold starts after the ramp and a settle margin (connects still in flight finish). */
const HOLD_START_S = 7;
const HOLD_S = 10;

export default defineScenario({
  name: 'connect-ramp',
  description: 'Open every user\'s connection at a rising rate (token check, session registration, offline drain), then hold them idle: connects/s, memory per connection and idle CPU on both sides.',
  production: {
    users: PRODUCTION_USERS,
    messagesPerSecond: PRODUCTION_MSGS_PER_S,
    notes: 'The seed: 2B users, most of them connected and silent at any moment; a gateway restart or a regional blip sends its share back at once.',
  },
  scale: {
    // No messages flow: the factor maps the seed's users onto the connections held here.
    factor: USERS / PRODUCTION_USERS,
    basis: `${USERS} connections (one generator process: under its 20,000 descriptors), opened at ${RATE_START} -> ${RATE_END} connects/s; ` +
      '--scale N multiplies users and rates (with --procs for more than one process\'s descriptors).',
  },
  traffic: { ...DEFAULT_TRAFFIC, users: USERS, onlineShare: 0 },
  system: { gateways: 2 },
  options: {
    scenarios: {
      ramp: {
        executor: 'ramping-arrival-rate', startRate: RATE_START, timeUnit: '1s',
        stages: [{ duration: `${RAMP_S * 1000}ms`, target: RATE_END }],
        preAllocatedVUs: 500, maxVUs: 3000, gracefulStop: `${(HOLD_START_S - RAMP_S) * 1000}ms`, exec: 'reconnect',
      },
      hold: {
        executor: 'constant-arrival-rate', rate: 1, timeUnit: '1s', duration: `${HOLD_S}s`, startTime: `${HOLD_START_S}s`,
        preAllocatedVUs: 1, maxVUs: 1, exec: 'idle',
      },
    },
    // Loose enough for a shared 2-core box (load average 4-10); dropped ramp iterations show in CONNECTIONS, not here.
    thresholds: {
      reconnect_success: ['rate>0.999'],
      connect_time: ['p(99)<1000'],
      drain_time: ['p(99)<2000'],
      connects_per_s: ['value>=2000'],
      loadgen_idle_cpu_percent_per_10k: ['value<2'],
      gateway_idle_cpu_percent_per_10k: ['value<2'],
    },
    deliveryGrace: '1s',
    iterationTimeout: '30s',
  },
});
