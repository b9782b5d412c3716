// traffic.e2ee in the load generator: a short 1:1 run against the real system
// (chat service + gateway, embedded store) where every body is encrypted with
// libsignal by the sender's device and decrypted by the recipient's, each
// user's keys uploaded through the real key directory at setup and its peers'
// bundles fetched on the first message. Every message must decrypt and the
// integrity counts stay exact (the load header rides inside the ciphertext);
// the store holds only envelopes: a scan of every stored body finds the
// plaintext padding of the clear control run's bodies and of none of the
// encrypted run's. Also: the option is validated.
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
import { checkRunFlags } from '../loadgen/commands/run-flags';
import { UsageError } from '../loadgen/commands/errors';
import { DEFAULT_TRAFFIC, type Scenario, type TrafficModel } from '../loadgen/model/scenario';
import { E2eeUser, SealError } from '../loadgen/drivers/system-e2ee';
import { MetricsRegistry } from '../loadgen/metrics/registry';
import { connectReady, newUserId } from './helpers/system';

const USERS = 12;
const CONTACTS = 2;
const RATE = 20;
const DURATION_S = 3;
/** The header is 22 bytes; the rest of a body is zero padding: a run of PADDING_MARK zero bytes only a clear body has. */
const MESSAGE_BYTES = 200;
const PADDING_MARK = Buffer.alloc(96);

function scenario(traffic: Partial<TrafficModel>, rate = RATE, durationS = DURATION_S): Scenario {
  return {
    name: 'e2ee', description: '1:1 load, end-to-end encrypted',
    production: { users: 2e9, messagesPerSecond: 1.16e6, notes: 'test' }, scale: { factor: 1e-6, basis: 'test' },
    traffic: { ...DEFAULT_TRAFFIC, users: USERS, contactsPerUser: CONTACTS, messageBytes: MESSAGE_BYTES, ...traffic },
    options: {
      scenarios: {
        chat: { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration: `${durationS}s`, preAllocatedVUs: 20, maxVUs: 200, gracefulStop: '10s' },
      },
      deliveryGrace: '10s',
      iterationTimeout: '10s',
    },
  };
}

describe('scenario option: traffic.e2ee is validated', () => {
  test('true and false are accepted, with groups too (sender keys); off by default', () => {
    assert.equal(planRun(scenario({ e2ee: true })).traffic.e2ee, true);
    assert.equal(planRun(scenario({ e2ee: true, groupShare: 0.5, groupsPerUser: 1 })).traffic.e2ee, true);
    assert.equal(planRun(scenario({})).traffic.e2ee, false);
  });

  test('--e2ee on|off replaces the scenario\'s traffic.e2ee; any other value is a usage error', () => {
    assert.equal(planRun(scenario({}), { e2ee: true }).traffic.e2ee, true);
    assert.equal(planRun(scenario({ e2ee: true }), { e2ee: false }).traffic.e2ee, false);
    assert.equal(checkRunFlags({ e2ee: 'on' }).e2ee, true);
    assert.equal(checkRunFlags({ e2ee: 'off' }).e2ee, false);
    assert.equal(checkRunFlags({}).e2ee, undefined);
    assert.throws(() => checkRunFlags({ e2ee: 'yes' }), (e: unknown) => e instanceof UsageError && /--e2ee must be on or off/.test(e.message));
  });

  test('a non-boolean, or bodies too big to seal are refused with the field named', () => {
    assert.throws(() => planRun(scenario({ e2ee: 'yes' as unknown as boolean })), /traffic\.e2ee: expected true or false/);
    assert.throws(() => planRun(scenario({ e2ee: true, messageBytes: 64 * 1024 })), /traffic\.messageBytes \(with e2ee\)/);
  });
});

describe('e2ee 1:1 messages through the real system', () => {
  let sys: RunningSystem;
  let dataDir: string;
  let outDir: string;
  let e2ee: RunSummary;
  let clear: RunSummary;

  const run = (traffic: Partial<TrafficModel>, runId: string, rate?: number, durationS?: number) => runScenario({
    scenario: scenario(traffic, rate, durationS), scenarioFile: 'test',
    targetUrls: [sys.gatewayUrl], secret: sys.secret, chatTarget: sys.chatTarget, driver: 'system',
    shard: { index: 0, count: 1 }, workers: 2, outDir, runId, transport: 'lean', localAddresses: [],
    userBase: freshUserBase(), command: 'test', outputs: [], log: () => {},
  });

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lg-e2ee-data-'));
    outDir = mkdtempSync(join(tmpdir(), 'lg-e2ee-'));
    sys = await startSystem({ gatewayPort: await freePort(), dataDir });
    // A quarter of the users start offline: they upload their keys at setup too, so messages to them seal and wait in their queues.
    // Without the warm-up (./loadgen-e2ee-warmup.test.ts has it): the first messages fetch the bundles.
    e2ee = await run({ e2ee: true, e2eeWarmup: false, onlineShare: 0.75 }, 'e2ee');
    // The control for the scan: the same load in the clear, shorter.
    clear = await run({ e2ee: false }, 'clear', 10, 1);
  });
  after(async () => {
    await sys?.stop();
    for (const d of [dataDir, outDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const count = (s: RunSummary, name: string) => s.metrics[name]?.values.count ?? 0;

  test('every message is acknowledged, delivered and decrypted; integrity stays exact', () => {
    const sends = RATE * DURATION_S;
    assert.equal(count(e2ee, 'sends_scheduled'), sends);
    assert.equal(count(e2ee, 'sends_ok'), sends, JSON.stringify(e2ee.reports.sends));
    assert.ok(e2ee.reports.sends?.adds_up, JSON.stringify(e2ee.reports.sends));
    const delivered = count(e2ee, 'messages_delivered');
    const queued = count(e2ee, 'delivery_queued_offline');
    assert.ok(delivered > 0 && queued > 0, `delivered ${delivered}, queued for offline recipients ${queued}`);
    assert.equal(delivered + queued, sends, 'every message delivered and decrypted, or queued for its offline recipient');
    assert.equal(count(e2ee, 'e2ee_decrypt_failed'), 0);
    assert.equal(count(e2ee, 'delivery_lost') + count(e2ee, 'delivery_duplicated') + count(e2ee, 'delivery_out_of_order'), 0);
    assert.equal(count(e2ee, 'errors'), 0);
    assert.equal(e2ee.metrics.e2ee_decrypt_time?.values.count, delivered, 'one decryption per delivered message');
    assert.equal(e2ee.metrics.e2ee_encrypt_time?.values.count, sends, 'one encryption per sent message');
    assert.equal(e2ee.metrics.delivery_latency?.values.count, delivered);
  });

  test('each user registered its keys once; a sender fetched each peer\'s bundle at most once', () => {
    assert.equal(count(e2ee, 'e2ee_key_uploads'), USERS, 'one registration per user at setup, offline ones included');
    const fetches = count(e2ee, 'e2ee_key_fetches');
    assert.ok(fetches > 0 && fetches <= USERS * CONTACTS, `${fetches} key fetches for ${USERS} users with ${CONTACTS} contacts`);
    assert.equal(count(clear, 'e2ee_key_fetches') + count(clear, 'e2ee_key_uploads'), 0, 'e2ee off: no key traffic');
  });

  test('the server is blind: every encrypted run\'s stored body is an envelope without the plaintext; the clear run\'s are found', () => {
    const clearSent = count(clear, 'messages_sent');
    const e2eeSent = count(e2ee, 'messages_sent');
    assert.ok(clearSent > 0 && count(clear, 'messages_delivered') === clearSent);
    const db = new Database(join(dataDir, 'messages.sqlite'), { readonly: true });
    let bodies: Buffer[];
    try {
      bodies = (db.prepare('SELECT body FROM messages').all() as { body: Buffer }[]).map((r) => r.body);
    } finally {
      db.close();
    }
    assert.equal(bodies.length, clearSent + e2eeSent, 'every message of both runs is stored');
    const withPlaintext = bodies.filter((b) => b.includes(PADDING_MARK));
    const envelopes = bodies.filter((b) => b[0] === 0xe2 && b[1] === 1);
    assert.equal(withPlaintext.length, clearSent, 'the control: the scan finds the clear run\'s bodies, and only those');
    assert.equal(envelopes.length, e2eeSent, 'the encrypted run stored envelopes only');
    assert.ok(envelopes.every((b) => b.length > MESSAGE_BYTES), 'a sealed body is longer than its plaintext');
  });

  test('a body that does not decrypt is refused with its reason; a redelivery opens from the kept plaintext', async () => {
    const [a, b] = [newUserId(), newUserId()];
    const [chatA, chatB] = await Promise.all([connectReady(sys, a), connectReady(sys, b)]);
    try {
      const metrics = new MetricsRegistry();
      const [alice, bob] = [new E2eeUser(a, metrics), new E2eeUser(b, metrics)];
      await Promise.all([alice.register(chatA), bob.register(chatB)]);
      const plain = Buffer.from('load header and padding');
      const sealed = await alice.seal(chatA, b, plain);
      assert.equal(metrics.counter.e2ee_key_fetches.value, 1, 'the bundle came from the key directory');
      const reasonOf = (p: Promise<unknown>) => p.then(() => 'opened', (e: unknown) => (e instanceof SealError ? e.reason : String(e)));
      const tampered = Buffer.from(sealed);
      tampered[tampered.length - 5]! ^= 0xff;
      assert.match(await reasonOf(bob.open(a, 'c', 1, tampered)), /^libsignal_/, 'a tampered ciphertext fails its MAC');
      assert.deepEqual(Buffer.from((await bob.open(a, 'c', 2, sealed))!), plain);
      assert.deepEqual(Buffer.from((await bob.open(a, 'c', 2, sealed))!), plain, 'the same message again: its kept plaintext');
      assert.equal(await reasonOf(bob.open(a, 'c', 3, sealed)), 'libsignal_DuplicatedMessage', 'the ciphertext under another id: a replay');
      assert.equal(await reasonOf(bob.open(a, 'c', 4, Buffer.from('in the clear'))), 'not_an_envelope');
    } finally {
      chatA.close();
      chatB.close();
    }
  });
});
