// perf-gate: the CI regression gate's fixed load (tools/perf-gate/, docs/perf-gate.md).
// Two phases, each judged on its last seconds (the gate drops the first ones):
//
//   throughput  closed model: VUS virtual users each send a 1:1 message and
//               send the next as soon as it is accepted. The target runs flat
//               out with a fixed number of messages in flight, so its batches
//               (and so its CPU per message) do not depend on how busy the
//               machine is; CPU per message here is the throughput proxy
//               (capacity per core = 1e6 / µs per message).
//   latency     open model at a fixed, light arrival rate: delivery latency
//               percentiles of an unsaturated path.
//
// The same file drives the bare uWS forwarder (`--driver bare`) for the in-run
// calibration, so nothing in it may need the real system (no receipts, no
// groups, no offline users). Change anything here and refresh the committed
// baseline (`make perf-gate-baseline`): the gate refuses a baseline of another shape.
import { defineScenario, DEFAULT_TRAFFIC } from '../loadgen/model/scenario';

const PRODUCTION_MSGS_PER_S = 1.16e6;
/** Messages in flight in the throughput phase (one per VU). */
const VUS = 1000;
/** The latency phase's rate: ~5% of what the system carries on 2 cores, so it stays unsaturated on a busy machine. */
const RATE = 1000;
const PHASE_S = 5;

export default defineScenario({
  name: 'perf-gate',
  description: `CI regression gate: ${PHASE_S}s closed loop of ${VUS} VUs (CPU per message), then ${PHASE_S}s at ${RATE} msgs/s (latency); 1:1, no receipts.`,
  production: {
    users: 2e9,
    messagesPerSecond: PRODUCTION_MSGS_PER_S,
    notes: 'Not a capacity model: a fixed load whose per-message cost and latency are compared commit to commit.',
  },
  scale: {
    factor: RATE / PRODUCTION_MSGS_PER_S,
    basis: `${RATE} msg/s in the latency phase: light enough that a shared 2-core CI machine keeps it steady.`,
  },
  traffic: { ...DEFAULT_TRAFFIC, users: 200, contactsPerUser: 4, messageBytes: 100, readReceipts: { probability: 0, delayMs: 0 }, ackDelayMs: 5 },
  options: {
    scenarios: {
      throughput: { executor: 'constant-vus', vus: VUS, duration: `${PHASE_S}s`, gracefulStop: '2s', exec: 'chat' },
      latency: {
        executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: `${PHASE_S}s`, startTime: `${PHASE_S}s`,
        preAllocatedVUs: 100, maxVUs: 2000, gracefulStop: '3s', exec: 'chat',
      },
    },
    // Integrity only: the gate judges speed against its baseline, not against fixed numbers.
    thresholds: {
      delivery_lost: ['count==0'],
      delivery_duplicated: ['count==0'],
      delivery_out_of_order: ['count==0'],
    },
    deliveryGrace: '3s',
    iterationTimeout: '5s',
  },
});
