// traffic.e2ee with group messages in the load generator, against the real
// system (chat service + gateway, embedded store): each sender gives its
// sender key to every other member over 1:1 sessions before its first group
// message, then sends one sender-key ciphertext per message. A short group
// run must deliver and decrypt every group message at every member with the
// integrity counts exact, the distributions counted exactly, and only
// envelopes in the store. Then, with the generator's own per-user device
// (E2eeUser) on real connections: a group message that arrives before its
// sender's key waits for it and opens; after a member is removed the sender
// re-keys, the server delivers the removed member nothing more, and the
// post-removal message does not open for it even given its body.
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
import { DEFAULT_TRAFFIC, type Scenario } from '../loadgen/model/scenario';
import { E2eeUser, SealError } from '../loadgen/drivers/system-e2ee';
import { CryptoLane } from '../loadgen/drivers/e2ee-lane';
import { MetricsRegistry } from '../loadgen/metrics/registry';
import { GroupChangeKind, type MessageBody } from '../server/common/protocol';
import { connectReady, newUserId, sleep, waitFor, type TestClient } from './helpers/system';

/** One worker: 12 users make 3 groups of 4 (members 0-3, 4-7, 8-11), every member sends (round robin). */
const USERS = 12;
const GROUP_SIZE = 4;
const GROUPS = USERS / GROUP_SIZE;
const RATE = 24;
const DURATION_S = 3;
const SENDS = RATE * DURATION_S;
const MESSAGE_BYTES = 200;
const PADDING_MARK = Buffer.alloc(96);

function scenario(): Scenario {
  return {
    name: 'e2ee-groups', description: 'group load, end-to-end encrypted with sender keys',
    production: { users: 2e9, messagesPerSecond: 1.16e6, notes: 'test' }, scale: { factor: 1e-6, basis: 'test' },
    traffic: {
      ...DEFAULT_TRAFFIC, users: USERS, contactsPerUser: 2, messageBytes: MESSAGE_BYTES,
      // Without the warm-up (./loadgen-e2ee-warmup.test.ts has it): the distributions go in the window.
      groupShare: 1, groupSize: GROUP_SIZE, groupsPerUser: 1, e2ee: true, e2eeWarmup: false,
    },
    options: {
      scenarios: {
        group: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s', duration: `${DURATION_S}s`, preAllocatedVUs: 20, maxVUs: 200, gracefulStop: '10s', exec: 'group' },
      },
      deliveryGrace: '10s',
      iterationTimeout: '10s',
    },
  };
}

const count = (s: RunSummary, name: string) => s.metrics[name]?.values.count ?? 0;

describe('e2ee group messages in the load generator', () => {
  let sys: RunningSystem;
  let dataDir: string;
  let outDir: string;
  let run: RunSummary;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'lg-e2eeg-data-'));
    outDir = mkdtempSync(join(tmpdir(), 'lg-e2eeg-'));
    sys = await startSystem({ gatewayPort: await freePort(), dataDir });
    run = await runScenario({
      scenario: scenario(), scenarioFile: 'test',
      targetUrls: [sys.gatewayUrl], secret: sys.secret, chatTarget: sys.chatTarget, driver: 'system',
      shard: { index: 0, count: 1 }, workers: 1, outDir, runId: 'e2ee-groups', transport: 'lean', localAddresses: [],
      userBase: freshUserBase(), command: 'test', outputs: [], log: () => {},
    });
  });
  after(async () => {
    await sys?.stop();
    for (const d of [dataDir, outDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  test('every group message is delivered to and decrypted by every other member; integrity stays exact', () => {
    assert.equal(count(run, 'sends_scheduled'), SENDS);
    assert.equal(count(run, 'sends_ok'), SENDS, JSON.stringify(run.reports.sends));
    assert.equal(count(run, 'group_messages_sent'), SENDS);
    assert.equal(count(run, 'messages_delivered'), SENDS * (GROUP_SIZE - 1), 'each message at each of the 3 other members');
    assert.equal(count(run, 'e2ee_decrypt_failed'), 0);
    assert.equal(count(run, 'delivery_lost') + count(run, 'delivery_duplicated') + count(run, 'delivery_out_of_order'), 0);
    assert.equal(count(run, 'errors'), 0);
    assert.equal(run.metrics.delivery_latency?.values.count, SENDS * (GROUP_SIZE - 1));
  });

  test('each sender gave its key to each other member once, over 1:1, and each member took it in', () => {
    const distributions = GROUPS * GROUP_SIZE * (GROUP_SIZE - 1);
    assert.equal(count(run, 'e2ee_sender_keys_sent'), distributions, 'every member sent (round robin), to its 3 co-members');
    assert.equal(count(run, 'e2ee_sender_keys_received'), distributions);
    assert.equal(run.metrics.e2ee_encrypt_time?.values.count, SENDS + distributions, 'one group ciphertext per message, one 1:1 seal per distribution');
    assert.equal(run.metrics.e2ee_decrypt_time?.values.count, SENDS * (GROUP_SIZE - 1) + distributions);
    const fetches = count(run, 'e2ee_key_fetches');
    assert.ok(fetches > 0 && fetches <= distributions, `${fetches} bundle fetches for ${distributions} distributions`);
  });

  test('the store holds envelopes only: the group messages and the distributions, no plaintext', () => {
    const db = new Database(join(dataDir, 'messages.sqlite'), { readonly: true });
    let bodies: Buffer[];
    try {
      bodies = (db.prepare('SELECT body FROM messages WHERE kind = 0').all() as { body: Buffer }[]).map((r) => r.body);
    } finally {
      db.close();
    }
    const distributions = count(run, 'e2ee_sender_keys_sent');
    assert.equal(bodies.length, SENDS + distributions, 'one stored body per group message, one per distribution (system events, kind != 0, aside)');
    assert.equal(bodies.filter((b) => b[0] === 0xe2 && b[1] === 1).length, bodies.length);
    assert.equal(bodies.filter((b) => b.includes(PADDING_MARK)).length, 0);
  });
});

describe('the generator\'s device in a group: a late key, and a removed member', () => {
  let sys: RunningSystem;
  before(async () => {
    sys = await startSystem({});
  });
  after(async () => {
    await sys?.stop();
  });

  /** Messages `c` received so far (system events left out), in arrival order. */
  const received = (c: TestClient): MessageBody[] =>
    c.frames.filter((f) => f.body === 'message').map((f) => (f as { message: MessageBody }).message).filter((m) => !m.system);

  test('a message before its key waits and opens; after a removal the sender re-keys and the removed member reads nothing more', async () => {
    const ids = [newUserId(), newUserId(), newUserId()];
    const chats = await Promise.all(ids.map((u) => connectReady(sys, u)));
    try {
      const metrics = new MetricsRegistry();
      const lane = new CryptoLane();
      const [alice, bob, carol] = ids.map((u) => new E2eeUser(u, metrics, lane)) as [E2eeUser, E2eeUser, E2eeUser];
      const [chatA, chatB, chatC] = chats as [TestClient, TestClient, TestClient];
      await Promise.all([alice.register(chatA), bob.register(chatB), carol.register(chatC)]);
      const chatId = (await chatA.createGroup('e2ee', [ids[1]!, ids[2]!])).chat_id;
      const sendKey = (peer: number, body: Uint8Array, cmid: string) => void chatA.send(peer, body, cmid).catch(() => {});
      const open = (u: E2eeUser, m: MessageBody) => u.open(m.from_user, m.chat_id, m.id, Buffer.from(m.body));

      // Before the removal: the key goes to bob and carol, then one ciphertext.
      const everyone = [...ids];
      await chatA.sendToChat(chatId, await alice.sealGroup(chatA, chatId, everyone, Buffer.from('before'), sendKey));
      for (const c of [chatB, chatC]) await waitFor(() => received(c).length === 2, 10_000, `user ${c.userId}: key and message`);
      const [keyB, msgB] = [received(chatB).find((m) => m.chat_id !== chatId)!, received(chatB).find((m) => m.chat_id === chatId)!];
      // Bob opens them the wrong way round (they travel in different chats): the message waits for the key.
      const early = open(bob, msgB);
      assert.equal(await open(bob, keyB), null, 'a sender key is not a message for the world');
      assert.equal(Buffer.from((await early)!).toString(), 'before');
      const [keyC, msgC] = [received(chatC).find((m) => m.chat_id !== chatId)!, received(chatC).find((m) => m.chat_id === chatId)!];
      await open(carol, keyC);
      assert.equal(Buffer.from((await open(carol, msgC))!).toString(), 'before', 'the control: carol reads while a member');
      assert.equal(metrics.counter.e2ee_sender_keys_sent.value, 2);

      // Carol is removed; alice's next send starts a new epoch, given to bob only.
      await chatA.changeGroup(chatId, GroupChangeKind.REMOVE, [ids[2]!]);
      const remaining = [ids[0]!, ids[1]!];
      const after = await alice.sealGroup(chatA, chatId, remaining, Buffer.from('after'), sendKey);
      await chatA.sendToChat(chatId, after);
      assert.equal(alice.groups.keys.rotations, 2, 're-keyed after the removal');
      assert.equal(metrics.counter.e2ee_sender_keys_sent.value, 3, 'the new key went to bob only');
      await waitFor(() => received(chatB).length === 4, 10_000, 'bob: the new key and the message');
      const later = received(chatB).slice(2);
      const [key2, msg2] = [later.find((m) => m.chat_id !== chatId), later.find((m) => m.chat_id === chatId)];
      await open(bob, key2!);
      assert.equal(Buffer.from((await open(bob, msg2!))!).toString(), 'after');
      assert.equal(metrics.counter.e2ee_sender_keys_received.value, 3);

      await sleep(300);
      assert.equal(received(chatC).length, 2, 'the server delivers the removed member nothing sent after the removal');
      const reason = await open(carol, { ...msg2!, chat_id: chatId }).then(() => 'opened', (e: unknown) => (e instanceof SealError ? e.reason : String(e)));
      assert.equal(reason, 'no_sender_key', 'given the body anyway, the removed member cannot open it');
    } finally {
      for (const c of chats) c.close();
    }
  });
});
