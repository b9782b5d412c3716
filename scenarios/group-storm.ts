// group-storm: many 256-member groups sending at once — a breaking-news or
// New Year's moment where every big group lights up together. One stored
// message becomes 255 deliveries, so the fan-out path (one batch per gateway
// over the gRPC stream, frames coalesced per socket on the gateway), not the
// store, carries the load. Judged on delivery latency at every member and on
// integrity per (sender, recipient) pair inside each group.
//
// Production: the seed's 2B users; at its 1.16M msg/s average, 30% of sends
// go to groups (tools/capacity-model/fleet-model.ts: group_message_share). A storm is
// modelled as STORM_PRODUCTION_GROUP_MSGS_PER_S group messages/s into full
// 256-member groups, i.e. ~25M deliveries/s fleet-wide. Here: RATE group
// messages/s over GROUPS full groups (every user in one group), which is the
// fan-out one 2-core box carries with the generator beside it.
import { defineScenario } from '../loadgen/model/scenario';

const PRODUCTION_USERS = 2e9;
const STORM_PRODUCTION_GROUP_MSGS_PER_S = 100_000;
const GROUP_SIZE = 256;
const GROUPS = 8;
const USERS = GROUP_SIZE * GROUPS;
/** Group messages/s here at --scale 1: 40 x 255 = 10,200 deliveries/s (bench/group-fanout.ts measured the full path near that). */
const RATE = 40;

export default defineScenario({
  name: 'group-storm',
  description: 'Many full 256-member groups sending at once: one stored message, 255 deliveries; every member timed, nothing lost.',
  production: {
    users: PRODUCTION_USERS,
    messagesPerSecond: STORM_PRODUCTION_GROUP_MSGS_PER_S,
    notes: `A storm of ${STORM_PRODUCTION_GROUP_MSGS_PER_S.toLocaleString('en')} group messages/s into full ${GROUP_SIZE}-member groups ` +
      `(${((STORM_PRODUCTION_GROUP_MSGS_PER_S * (GROUP_SIZE - 1)) / 1e6).toFixed(1)}M deliveries/s), on top of which the 1:1 traffic continues ` +
      '(not modelled here: see fanout).',
  },
  scale: {
    factor: RATE / STORM_PRODUCTION_GROUP_MSGS_PER_S,
    basis: `${RATE} group msg/s (${RATE * (GROUP_SIZE - 1)} deliveries/s) over ${GROUPS} full groups of ${GROUP_SIZE} ` +
      `(${USERS} users, all online): the fan-out one 2-core box carries with the generator on it.`,
  },
  traffic: {
    users: USERS,
    onlineShare: 1,
    contactsPerUser: 1,
    groupShare: 1,
    groupSize: GROUP_SIZE,
    groupsPerUser: 1,
    messageBytes: { weighted: [[40, 3], [100, 5], [300, 2]] },
    mediaShare: 0,
    // Members read a storm message rarely and late: this exercises per-member read watermarks. The sender's
    // aggregate `read` receipt needs every member to have read, so none is expected here.
    readReceipts: { probability: 0.1, delayMs: { uniform: [500, 3000] } },
    ackDelayMs: 20,
    reconnect: { dropShare: 0 },
  },
  options: {
    scenarios: {
      // Opens every group for every sender and warms both ends; judged on integrity only.
      warmup: {
        executor: 'constant-arrival-rate', rate: RATE / 4, timeUnit: '1s', duration: '2s',
        preAllocatedVUs: 10, maxVUs: 200, gracefulStop: '5s', exec: 'group',
      },
      // Every group sending at once: the rate jumps to the storm and holds.
      storm: {
        executor: 'ramping-arrival-rate', startRate: RATE / 4, timeUnit: '1s', startTime: '2s',
        stages: [{ duration: '1s', target: RATE }, { duration: '7s', target: RATE }],
        preAllocatedVUs: 20, maxVUs: 400, gracefulStop: '5s', exec: 'group',
      },
    },
    thresholds: {
      'delivery_latency{scenario:storm}': ['p(99)<250', 'p(50)<50'],
      'sent_ack_latency{scenario:storm}': ['p(99)<250'],
      'dropped_iterations{scenario:storm}': ['count==0'],
      delivery_lost: ['count==0'],
      delivery_duplicated: ['count==0'],
      delivery_out_of_order: ['count==0'],
      send_success: ['rate>0.999'],
    },
    deliveryGrace: '5s',
  },
});
