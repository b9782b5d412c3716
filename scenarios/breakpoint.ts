// breakpoint: ramp the 1:1 arrival rate until delivery latency breaks the
// seed's real-time target (p99 < 100 ms, judged per 2 s window, for at
// least 4 s) or iterations drop; the best rate that held before is this
// node's capacity figure (the input of the capacity model). The run aborts
// once the ramp is clearly past the break (abortOnFail on the cumulative p95).
import { DEFAULT_TRAFFIC, defineScenario } from '../loadgen/model/scenario';

const PRODUCTION_USERS = 2e9;
const PRODUCTION_MSGS_PER_S = 1.16e6;
const START_RATE = 500;
const END_RATE = 12_000;
const USERS = 4000;

export default defineScenario({
  name: 'breakpoint',
  description: `Ramp 1:1 messages from ${START_RATE} to ${END_RATE}/s until p99 delivery >= 100 ms: the last sustained rate is the node's capacity.`,
  production: {
    users: PRODUCTION_USERS,
    messagesPerSecond: PRODUCTION_MSGS_PER_S,
    notes: 'Per-node capacity under the seed\'s < 100 ms real-time target; the fleet size is production / capacity (see the capacity model).',
  },
  scale: {
    factor: END_RATE / PRODUCTION_MSGS_PER_S,
    basis: `the ramp tops out at ${END_RATE} msg/s, above what one 2-core box (system and generator together) carries.`,
  },
  // The defaults (seed-sized 1:1 messages, everyone online, no read receipts) but for:
  traffic: { ...DEFAULT_TRAFFIC, users: USERS },
  options: {
    scenarios: {
      // Opens every chat and warms both ends' JIT, so the ramp measures capacity, not start-up.
      warmup: {
        executor: 'constant-arrival-rate', rate: START_RATE, timeUnit: '1s', duration: '4s',
        preAllocatedVUs: 100, maxVUs: 2000, gracefulStop: '2s', exec: 'chat',
      },
      ramp: {
        executor: 'ramping-arrival-rate', startRate: START_RATE, timeUnit: '1s', startTime: '4s',
        stages: [{ duration: '120s', target: END_RATE }],
        preAllocatedVUs: 500, maxVUs: 10_000, gracefulStop: '5s', exec: 'chat',
      },
    },
    thresholds: {
      // Stop the run once the ramp is clearly past the break (a short blip does not reach p(95)).
      'delivery_latency{scenario:ramp}': [{ threshold: 'p(95)<200', abortOnFail: true, delayAbortEval: '10s' }],
      delivery_success: [{ threshold: 'rate>0.99', abortOnFail: true, delayAbortEval: '10s' }],
    },
    deliveryGrace: '5s',
  },
  breakpoint: {
    scenario: 'ramp',
    thresholds: { 'delivery_latency{scenario:ramp}': ['p(99)<100'], 'dropped_iterations{scenario:ramp}': ['count==0'] },
    window: '2s',
  },
});
