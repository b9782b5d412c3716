// The shape of a scenario module's export, checked before anything reads it
// (lib/shape.ts): every field of the right type, so the plan's range checks
// (plan.ts, distribution.ts, thresholds.ts, faults.ts) compare numbers with
// numbers and never meet an object whose coercion throws. A scenario is
// TypeScript and the compiler checks it, but `loadgen run path/x.js` takes any
// compiled module: its export is outside input. Types only here; ranges and
// the meaning of each field stay with the code that uses it.
import { either, list, obj, optional, record, satisfies, str, type Check } from '../../lib/shape';

const TEXT_BYTES_MAX = 4096;
const NAME_BYTES_MAX = 256;
/** More executors, thresholds or faults than any sensible scenario; a bound so a huge object is refused cheaply. */
const ENTRIES_MAX = 256;

const anyNumber: Check<number> = satisfies((v): v is number => typeof v === 'number', 'a number');
const bool: Check<boolean> = satisfies((v): v is boolean => typeof v === 'boolean', 'true or false');
const text = str({ bytesMax: TEXT_BYTES_MAX });
const name = str({ bytesMax: NAME_BYTES_MAX });
const duration = either(name, anyNumber, 'a duration (a string like 30s, or a number of ms)');
const pair: Check<[number, number]> = satisfies((v): v is [number, number] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number', 'a pair of numbers');
const distribution = either(anyNumber, either(obj({ uniform: pair }, { strict: true }),
  obj({ weighted: list(pair, { itemsMax: ENTRIES_MAX, itemsMin: 1 }) }, { strict: true }), 'a distribution object'),
'a number, { uniform: [min, max] } or { weighted: [[value, weight], ...] }');

const stage = obj({ duration, target: anyNumber });
const executor = obj({
  executor: name, exec: optional(name), startTime: optional(duration), gracefulStop: optional(duration),
  rate: optional(anyNumber), timeUnit: optional(duration), duration: optional(duration), preAllocatedVUs: optional(anyNumber),
  maxVUs: optional(anyNumber), startRate: optional(anyNumber), stages: optional(list(stage, { itemsMax: ENTRIES_MAX })),
  vus: optional(anyNumber), startVUs: optional(anyNumber), gracefulRampDown: optional(duration), iterations: optional(anyNumber),
  maxDuration: optional(duration),
});
const threshold = either(text, obj({ threshold: text, abortOnFail: optional(bool), delayAbortEval: optional(duration) }),
  'a threshold string or { threshold, abortOnFail?, delayAbortEval? }');

const scenarioShape = obj({
  name, description: text,
  production: obj({ users: anyNumber, messagesPerSecond: anyNumber, notes: optional(text) }),
  scale: obj({ factor: anyNumber, basis: text }),
  traffic: optional(obj({
    users: optional(anyNumber), onlineShare: optional(anyNumber), contactsPerUser: optional(anyNumber), groupShare: optional(anyNumber),
    groupSize: optional(distribution), groupsPerUser: optional(anyNumber), messageBytes: optional(distribution), mediaShare: optional(anyNumber), mediaBytes: optional(distribution),
    e2ee: optional(bool), e2eeWarmup: optional(bool),
    readReceipts: optional(obj({ probability: anyNumber, delayMs: distribution })), ackDelayMs: optional(anyNumber),
    reconnect: optional(obj({ dropShare: anyNumber })),
  })),
  options: obj({
    scenarios: record(executor, { keysMax: ENTRIES_MAX }),
    thresholds: optional(record(list(threshold, { itemsMax: ENTRIES_MAX }), { keysMax: ENTRIES_MAX })),
    deliveryGrace: optional(duration), iterationTimeout: optional(duration),
  }),
  system: optional(obj({ gateways: optional(anyNumber), env: optional(record(text, { keysMax: ENTRIES_MAX })) })),
  breakpoint: optional(obj({
    scenario: optional(name), thresholds: record(list(text, { itemsMax: ENTRIES_MAX }), { keysMax: ENTRIES_MAX }),
    window: optional(duration), sustain: optional(duration),
  })),
  topology: optional(either(name, obj({ gateways: anyNumber, chats: anyNumber }), 'a topology like 2x3')),
  // Presence and meaning of each fault field are faults.ts's to judge (it names a missing one).
  faults: optional(list(obj({ at: optional(duration), target: optional(name), index: optional(anyNumber), action: optional(name), for: optional(duration) }), { itemsMax: ENTRIES_MAX })),
});

/** Throws ShapeError naming the first field of the wrong type ("scenario.traffic.groupShare: expected a number, got an object"). */
export function checkScenarioShape(s: unknown): void {
  scenarioShape(s, 'scenario');
}
