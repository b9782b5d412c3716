// The key-storm scenario, short form (--scale 0.25: 100 users, 3 new peers
// each), run by the load generator against the real system it starts (chat
// service + gateway, embedded store): every first message to a peer costs one
// prekey bundle fetch, the chat service's own counters agree with the
// generator's, each one-time prekey leaves the store exactly once, every first
// message is timed to its decrypted delivery, and integrity stays exact.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import keyStorm from '../scenarios/key-storm';
import { runScenario } from '../loadgen/engine/run';
import type { RunSummary } from '../loadgen/engine/summary';
import { renderSummaryText } from '../loadgen/outputs/summary-text';
import { PrekeyLedger } from '../loadgen/drivers/prekey-ledger';
import { PREKEYS_PER_UPLOAD } from '../loadgen/drivers/system-e2ee';
import { sampleValue } from '../loadgen/engine/key-directory-probe';
import { MetricsRegistry } from '../loadgen/metrics/registry';

const SCALE = 0.25;
const USERS = 100;
const CONTACTS = 3;
/** One upload per user at setup holds this many one-time prekeys (loadgen/drivers/system-e2ee.ts). */

describe('key-storm: many fresh e2ee sessions at once against the real system', () => {
  let dataDir: string;
  let outDir: string;
  let s: RunSummary;
  let prekeysLeft: number;
  let devices: number;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lg-keystorm-data-'));
    outDir = mkdtempSync(join(tmpdir(), 'lg-keystorm-'));
    s = await runScenario({
      scenario: keyStorm, scenarioFile: 'scenarios/key-storm.ts', scale: SCALE, driver: 'system',
      shard: { index: 0, count: 1 }, workers: 2, outDir, runId: 'key-storm', transport: 'lean', localAddresses: [],
      command: 'test', outputs: [], log: () => {},
      // The system the run starts keeps its store here, so the test can count the prekeys left after it.
      systemBuild: { env: { WA_DATA_DIR: dataDir } },
    });
    const db = new Database(join(dataDir, 'messages.sqlite'), { readonly: true });
    try {
      prekeysLeft = (db.prepare('SELECT COUNT(*) AS n FROM key_prekeys').get() as { n: number }).n;
      devices = (db.prepare('SELECT COUNT(*) AS n FROM key_devices').get() as { n: number }).n;
    } finally {
      db.close();
    }
  });
  after(() => {
    for (const d of [dataDir, outDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const count = (name: string) => s.metrics[name]?.values.count ?? 0;

  test('the scenario scales to the short form and passes its thresholds', () => {
    assert.equal(s.plan.traffic.users, USERS);
    assert.equal(s.plan.traffic.e2ee, true);
    assert.equal(s.exit_code, 0, JSON.stringify(s.thresholds.results.filter((r) => !r.ok)));
    assert.ok(s.reports.sends?.adds_up && s.reports.sends.ok === s.reports.sends.scheduled, JSON.stringify(s.reports.sends));
  });

  test('one prekey fetch per first message to a new peer, counted alike by the generator and the chat service', () => {
    const e = s.reports.e2ee!;
    assert.ok(e, 'an E2EE report');
    assert.equal(e.key_uploads, USERS, 'one registration per user at setup');
    assert.equal(e.key_fetches, USERS * CONTACTS, 'every (user, contact) pair fetched once: the storm phase is all first messages');
    assert.equal(e.first_messages, e.key_fetches, 'every first message was timed to its decrypted delivery');
    assert.ok(e.first_message_p50_ms! > 0 && e.first_message_p99_ms! >= e.first_message_p50_ms!);
    assert.ok(e.key_fetches_per_s_storm > 0 && e.key_fetches_per_s_peak >= e.key_fetches_per_s_storm);
    const k = e.key_directory!;
    assert.ok(k, 'the chat service\'s key directory figures, from its /metrics');
    assert.equal(k.fetches, e.key_fetches, 'wa_chat_key_fetches_total over the window = the generator\'s fetches');
    assert.equal(k.prekeys_handed_out, e.key_fetches, 'each fetch of a one-device user handed out one one-time prekey');
    assert.equal(k.uploads, 0, 'uploads happened at setup, before the window');
    assert.ok(k.store_ms_per_fetch !== null && k.store_ms_per_fetch > 0 && k.store_blocking_ms_per_fetch! <= k.store_ms_per_fetch);
  });

  test('each one-time prekey was handed out once: distinct at the fetchers, gone from the store, none failed to open', () => {
    const e = s.reports.e2ee!;
    assert.equal(e.prekeys_reused, 0, 'no (user, device, prekey id) reached two fetchers');
    assert.equal(e.bundles_without_prekey, 0);
    assert.equal(e.decrypt_failed, 0, 'no PreKeySignalMessage named a prekey its recipient had used already');
    assert.equal(devices, USERS);
    assert.equal(USERS * PREKEYS_PER_UPLOAD - prekeysLeft, e.key_fetches, 'the store lost exactly one one-time prekey per fetch');
  });

  test('integrity counts stay zero and every message was delivered and decrypted', () => {
    for (const m of ['delivery_lost', 'delivery_duplicated', 'delivery_out_of_order', 'delivery_queued_offline', 'e2ee_decrypt_failed', 'sends_failed']) {
      assert.equal(count(m), 0, m);
    }
    assert.equal(count('messages_delivered'), count('sends_scheduled'));
    assert.equal(s.metrics.e2ee_decrypt_time?.values.count, count('messages_delivered'), 'one decryption per delivery');
  });

  test('the text summary shows the E2EE block', () => {
    const text = renderSummaryText(s);
    assert.match(text, /E2EE \(traffic\.e2ee/);
    assert.match(text, new RegExp(`prekey bundle fetches ${USERS * CONTACTS}: [\\d.]+/s over the`));
    assert.match(text, /key directory \(chat \/metrics\): \d+ fetches served \(= the generator's\)/);
  });
});

describe('the key-storm checks can fail', () => {
  test('a one-time prekey handed out twice is counted as reused; a bundle without one is counted', () => {
    const metrics = new MetricsRegistry();
    const ledger = new PrekeyLedger(metrics);
    const bundle = (id: number | null) => ({
      ref: 1, user: 7,
      devices: [{ device_id: 1, registration_id: 1, identity_key: new Uint8Array(33), signed_prekey: null!, kyber_prekey: null!,
        one_time_prekey: id === null ? null : { id, public_key: new Uint8Array(33) } }],
    });
    ledger.fetched(bundle(5));
    ledger.fetched(bundle(6));
    assert.equal(metrics.counter.e2ee_prekeys_reused.value, 0);
    ledger.fetched(bundle(5));
    assert.equal(metrics.counter.e2ee_prekeys_reused.value, 1);
    ledger.fetched(bundle(null));
    assert.equal(metrics.counter.e2ee_bundles_without_prekey.value, 1);
  });

  test('the /metrics reader takes an unlabelled sample, 0 when the family has none', () => {
    const text = '# TYPE wa_chat_key_fetches_total counter\nwa_chat_key_fetches_total 42\nwa_chat_key_fetches_total_other 9\n';
    assert.equal(sampleValue(text, 'wa_chat_key_fetches_total'), 42);
    assert.equal(sampleValue(text, 'wa_chat_prekeys_handed_out_total'), 0);
  });
});
