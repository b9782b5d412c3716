// key-storm: many users start end-to-end encrypted sessions at once (a fresh-
// install wave, or a reconnect storm after which everybody writes to people it
// has no session with). Every user's first message to each of its contacts is
// its first to that peer, so each one costs a prekey bundle fetch from the key
// directory (a one-time prekey taken exactly once: one SQLite transaction, or
// one LWT on ScyllaDB) and a PQXDH session start on both ends. Then a short
// steady phase on the sessions just made, for comparison side by side.
// Measured: prekey fetches/s, the key directory's store time per fetch (the
// chat service's /metrics), e2ee_first_message_latency (scheduled send of a
// first message -> delivered and decrypted at the peer) against later messages.
import { DEFAULT_TRAFFIC, defineScenario } from '../loadgen/model/scenario';

const PRODUCTION_USERS = 2e9;
const PRODUCTION_MSGS_PER_S = 1.16e6;
const USERS = 400;
const CONTACTS = 3;
/** The storm: every (user, contact) pair once, in STORM_S seconds: each iteration is a first message. */
const FIRST_MESSAGES = USERS * CONTACTS;
const STORM_S = 3;
const STORM_RATE = FIRST_MESSAGES / STORM_S;
const STEADY_RATE = 200;

export default defineScenario({
  name: 'key-storm',
  description: `Every user starts e2ee sessions with ${CONTACTS} peers at once: ${FIRST_MESSAGES} prekey bundle fetches in ${STORM_S} s, then steady messages on those sessions.`,
  production: {
    users: PRODUCTION_USERS,
    messagesPerSecond: PRODUCTION_MSGS_PER_S,
    notes: 'A region coming back with fresh installs (or everybody writing to new contacts after a blip): one bundle fetch, ' +
      'one one-time prekey and one session start per new (sender, peer) pair, before the first message can leave.',
  },
  scale: {
    factor: STORM_RATE / PRODUCTION_MSGS_PER_S,
    basis: `${USERS} users x ${CONTACTS} new peers = ${FIRST_MESSAGES} first messages at ${STORM_RATE}/s: both ends' libsignal work ` +
      '(~2 ms of generator CPU per session: bundle -> PQXDH, first encrypt and decrypt) runs in the generator, so this is what a ' +
      'shared 2-core box carries beside the system without the generator becoming the bottleneck.',
  },
  traffic: { ...DEFAULT_TRAFFIC, users: USERS, contactsPerUser: CONTACTS, onlineShare: 1, e2ee: true, e2eeWarmup: false },
  options: {
    scenarios: {
      // Round robin over senders, and over each sender's contacts: the first users x contacts sends are
      // each sender's first to each peer.
      storm: {
        executor: 'constant-arrival-rate', rate: STORM_RATE, timeUnit: '1s', duration: `${STORM_S}s`,
        preAllocatedVUs: 200, maxVUs: FIRST_MESSAGES, gracefulStop: '10s', exec: 'chat',
      },
      steady: {
        executor: 'constant-arrival-rate', rate: STEADY_RATE, timeUnit: '1s', duration: '2s', startTime: `${STORM_S + 1}s`,
        preAllocatedVUs: 50, maxVUs: 400, gracefulStop: '5s', exec: 'chat',
      },
    },
    thresholds: {
      e2ee_first_message_latency: ['p(99)<5000'],
      // Messages on the sessions just made, beside the first ones (a tagged sub-metric is recorded when a threshold names it).
      'delivery_latency{scenario:steady}': ['p(99)<5000'],
      e2ee_key_fetches: ['count>0'],
      e2ee_prekeys_reused: ['count==0'],
      e2ee_bundles_without_prekey: ['count==0'],
      e2ee_decrypt_failed: ['count==0'],
      // A failed key fetch or seal fails its send (sends_failed{reason:e2ee_...}).
      sends_failed: ['count==0'],
      'dropped_iterations{scenario:storm}': ['count==0'],
      delivery_lost: ['count==0'],
      delivery_duplicated: ['count==0'],
      delivery_out_of_order: ['count==0'],
      delivery_queued_offline: ['count==0'],
    },
    deliveryGrace: '10s',
    iterationTimeout: '15s',
  },
});
