// traffic.e2ee's warm-up (loadgen/world/e2ee-warmup.ts) against the real
// system (chat service + gateway, embedded store): a short run with 1:1 and
// group messages, a quarter of the users offline, on two worker threads. With
// the warm-up (the default) setup fetches the bundles, makes each session
// two-way and hands out the sender keys, so the measured window fetches no
// bundle, distributes no sender key and stores no PreKeySignalMessage (every
// stored body is the size of an established-session or sender-key message);
// every message decrypts and the integrity counts stay exact. Without it
// (traffic.e2eeWarmup false, as key-storm), the same load fetches and
// distributes in the window and stores PreKeySignalMessages.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { freePort } from '../lib/net';
import { runScenario } from '../loadgen/engine/run';
import { freshUserBase } from '../loadgen/engine/local-target';
import type { RunSummary } from '../loadgen/engine/summary';
import { planRun } from '../loadgen/model/plan';
import { DEFAULT_TRAFFIC, type Scenario, type TrafficModel } from '../loadgen/model/scenario';

const USERS = 24;
const CONTACTS = 2;
const RATE = 30;
const DURATION_S = 3;
const SENDS = RATE * DURATION_S;
const MESSAGE_BYTES = 200;
/** A 200 B plaintext sealed as an established-session or sender-key message is ~300-400 B; as a PreKeySignalMessage ~1,950 B. */
const PREKEY_MESSAGE_BYTES_MIN = 1000;

function scenario(traffic: Partial<TrafficModel>): Scenario {
  return {
    name: 'e2ee-warmup', description: '1:1 and group load, end-to-end encrypted, sessions set up or not',
    production: { users: 2e9, messagesPerSecond: 1.16e6, notes: 'test' }, scale: { factor: 1e-6, basis: 'test' },
    traffic: {
      ...DEFAULT_TRAFFIC, users: USERS, contactsPerUser: CONTACTS, messageBytes: MESSAGE_BYTES, onlineShare: 0.75,
      groupShare: 0.4, groupSize: 4, groupsPerUser: 1, e2ee: true, ...traffic,
    },
    options: {
      scenarios: {
        chat: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: `${DURATION_S}s`, preAllocatedVUs: 20, maxVUs: 200, gracefulStop: '10s' },
      },
      deliveryGrace: '10s',
      iterationTimeout: '10s',
    },
  };
}

const count = (s: RunSummary, name: string) => s.metrics[name]?.values.count ?? 0;

describe('scenario option: traffic.e2eeWarmup', () => {
  test('true or false, absent by default (= on with e2ee); anything else is refused', () => {
    assert.equal(planRun(scenario({})).traffic.e2eeWarmup, undefined);
    assert.equal(planRun(scenario({ e2eeWarmup: false })).traffic.e2eeWarmup, false);
    assert.throws(() => planRun(scenario({ e2eeWarmup: 'no' as unknown as boolean })), /e2eeWarmup/);
  });
});

describe('e2ee sessions and sender keys set up before the measured window', () => {
  let sys: RunningSystem;
  let dataDir: string;
  let outDir: string;
  let warm: RunSummary;
  let cold: RunSummary;
  let warmBodies: Buffer[];
  let coldBodies: Buffer[];

  const bodies = (): Buffer[] => {
    const db = new Database(join(dataDir, 'messages.sqlite'), { readonly: true });
    try {
      return (db.prepare('SELECT body FROM messages WHERE kind = 0').all() as { body: Buffer }[]).map((r) => r.body);
    } finally {
      db.close();
    }
  };
  const run = (traffic: Partial<TrafficModel>, runId: string) => runScenario({
    scenario: scenario(traffic), scenarioFile: 'test',
    targetUrls: [sys.gatewayUrl], secret: sys.secret, chatTarget: sys.chatTarget, driver: 'system',
    shard: { index: 0, count: 1 }, workers: 2, outDir, runId, transport: 'lean', localAddresses: [],
    userBase: freshUserBase(), command: 'test', outputs: [], log: () => {},
  });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lg-e2eew-data-'));
    outDir = mkdtempSync(join(tmpdir(), 'lg-e2eew-'));
    sys = await startSystem({ gatewayPort: await freePort(), dataDir });
    warm = await run({}, 'warm');
    warmBodies = bodies();
    cold = await run({ e2eeWarmup: false }, 'cold');
    coldBodies = bodies().slice(warmBodies.length);
  });
  after(async () => {
    await sys?.stop();
    for (const d of [dataDir, outDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  test('setup reports the sessions it started and the sender keys it handed out', () => {
    const w = warm.setup.e2ee_warmup;
    assert.ok(w, 'the summary has the warm-up');
    const online = Math.round(USERS * 0.75);
    assert.ok(w.sessions >= online && w.sessions <= online * CONTACTS, `${w.sessions} sessions for ${online} online users x ${CONTACTS} contacts`);
    assert.ok(w.sender_keys > 0 && w.sender_keys <= USERS * 3, `${w.sender_keys} sender keys (groups of 4)`);
    assert.equal(cold.setup.e2ee_warmup, undefined, 'off: no warm-up');
  });

  test('warm: the window fetches no bundle, distributes no sender key, and every message decrypts', () => {
    assert.equal(count(warm, 'sends_scheduled'), SENDS);
    assert.equal(count(warm, 'sends_ok'), SENDS, JSON.stringify(warm.reports.sends));
    assert.ok(count(warm, 'group_messages_sent') > 0 && count(warm, 'messages_delivered') > 0);
    assert.equal(count(warm, 'e2ee_key_fetches'), 0, 'every session was made at setup');
    assert.equal(count(warm, 'e2ee_sender_keys_sent') + count(warm, 'e2ee_sender_keys_received'), 0, 'every sender key was given at setup');
    assert.equal(count(warm, 'e2ee_decrypt_failed'), 0);
    assert.equal(count(warm, 'delivery_lost') + count(warm, 'delivery_duplicated') + count(warm, 'delivery_out_of_order'), 0);
    assert.equal(count(warm, 'errors'), 0);
    assert.equal(count(warm, 'e2ee_first_message_latency'), 0, 'no first message in the window');
  });

  test('warm: every stored body is an established-session or sender-key message (the sessions are two-way)', () => {
    assert.equal(warmBodies.length, count(warm, 'messages_sent'), 'one stored body per message, no distribution');
    const big = warmBodies.filter((b) => b.length >= PREKEY_MESSAGE_BYTES_MIN);
    assert.equal(big.length, 0, `bodies of ${big.map((b) => b.length).slice(0, 5).join(', ')} B: a PreKeySignalMessage`);
  });

  test('cold (traffic.e2eeWarmup false): the window fetches, distributes and stores PreKeySignalMessages', () => {
    assert.equal(count(cold, 'sends_ok'), SENDS, JSON.stringify(cold.reports.sends));
    assert.ok(count(cold, 'e2ee_key_fetches') > 0);
    assert.ok(count(cold, 'e2ee_sender_keys_sent') > 0);
    assert.equal(count(cold, 'e2ee_decrypt_failed'), 0);
    assert.ok(coldBodies.some((b) => b.length >= PREKEY_MESSAGE_BYTES_MIN), 'first messages carry the PQXDH prekey part');
  });
});
