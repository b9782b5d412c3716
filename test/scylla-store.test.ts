// The ScyllaDB store against a real Apache Cassandra 5 node (same CQL protocol),
// started here through scripts/cassandra.sh (fetched from Maven Central on first
// use) and stopped at the end, also when a test fails.
//
// - the store conformance suite, unchanged (test/helpers/store-conformance.ts),
//   on production-width buckets and on 1 ms buckets (every test crosses buckets);
// - the whole system (gateway + chat service) on the ScyllaDB store: 1:1 and groups;
// - durability: kill -9 of the Cassandra JVM right after sent acks, restart,
//   everything acknowledged is still there and is delivered;
// - a long chat over many time buckets pages correctly (store and system);
// - fencing's window: writes only while the fence check is fresh (helpers/scylla-fence-window.ts);
// - bad configuration fails at start with a clear error, within seconds.
//
// Each run starts a fresh node of its own (~/.cache/wa-scale/cassandra/test-<run>,
// free ports, deleted at the end): a node someone else runs (on 9042, or another
// run of this file) is neither reused nor stopped. Keyspaces need no dropping.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client } from 'cassandra-driver';
import { directChatId } from '../server/common/chat-id';
import { IdGenerator, laneOfId, PROVISIONED_USER_ID_MIN } from '../server/common/ids';
import { REPO_ROOT } from '../server/common/paths';
import { GroupChangeKind, ReceiptKind, type MessageBody } from '../server/common/protocol';
import { startSystem, type RunningSystem } from '../deploy/local-system';
import { scyllaConfig, type ScyllaConfig } from '../server/store/scylla/config';
import {
  flushLocalNode, freePort, freePorts, killLocalNode, localNodeStatus, restartLocalNode, startLocalNode, stopLocalNode, sweepStaleNodes, wipeLocalNode, type LocalNode,
} from '../deploy/cassandra-node';
import { routingKeys } from '../server/store/scylla/routing-keys';
import { openScyllaStore, type ScyllaStore } from '../server/store/scylla/scylla-store';
import { ChatKind, MessageKind, emptyBatch, type ChatState, type StoredMessage } from '../server/store/store';
import { fenceWindowTests } from './helpers/scylla-fence-window';
import { defineStoreConformance, plainMessage } from './helpers/store-conformance';
import { bodyText, connectReady, connectUser, newUserId, provisionFresh, sleep, text, waitFor, type TestClient } from './helpers/system';

const RUN = `t${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const T0 = Date.now();
const log = (line: string) => console.log(`# [${((Date.now() - T0) / 1000).toFixed(1)} s] ${line}`);
const isCode = (code: string) => (e: Error & { code?: string }) => e.code === code;
const messagesOf = (c: TestClient, chatId: string): MessageBody[] =>
  c.frames.filter((f) => f.body === 'message' && f.message.chat_id === chatId).map((f) => (f as { message: MessageBody }).message);

let node: LocalNode | null = null;
function keyspace(name: string): string {
  return `wa_${RUN}_${name}`;
}

function config(ks: string, over: Partial<ScyllaConfig> = {}): ScyllaConfig {
  return scyllaConfig({}, { contact_points: [node!.contactPoint], keyspace: ks, ...over });
}

function systemEnv(ks: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WA_STORE: 'scylla', WA_SCYLLA_CONTACT_POINTS: node!.contactPoint, WA_SCYLLA_KEYSPACE: ks, WA_SCYLLA_MIGRATE: '1',
    WA_SCYLLA_CONSISTENCY: 'LOCAL_ONE', WA_CHAT_METRICS_PORT: '0', ...extra,
  };
}

async function stopNode(): Promise<void> {
  if (!node) return;
  const n = node;
  node = null;
  await stopLocalNode(n, log).catch((err) => log(`stopping Cassandra failed: ${(err as Error).message}`));
}

describe('ScyllaDB store on Apache Cassandra 5', () => {
  before(async () => {
    // A node of this run's own (a concurrent run elsewhere has its own): fresh, deleted at the end.
    const swept = await sweepStaleNodes('test-');
    if (swept.length) log(`wiped stale test nodes: ${swept.join(', ')}`);
    node = await startLocalNode({ name: `test-${RUN}`, log });
    log(`Cassandra on ${node.contactPoint} (data ${node.dataDir}) ready in ${(node.startMs / 1000).toFixed(1)} s`);
  });

  after(async () => {
    const dataDir = node?.dataDir;
    await stopNode();
    if (dataDir) await wipeLocalNode({ dataDir, log }).catch((err) => log(`wiping ${dataDir} failed: ${(err as Error).message}`));
  });

  // ------------------------------------------------------------------ the contract

  for (const [name, bucketMs] of [['10-day buckets', null], ['1 ms buckets', 1]] as const) {
    defineStoreConformance(`scylla (${name})`, async () => {
      const cfg = config(keyspace(bucketMs ? 'conf_tiny' : 'conf'), { bucket_ms: bucketMs, migrate: true });
      let store = await openScyllaStore(cfg);
      return {
        store,
        reopen: async () => (store = await openScyllaStore({ ...cfg, migrate: false })),
        cleanup: () => store.close(), peer: () => openScyllaStore({ ...cfg, migrate: false }), // peer: a second chat node's client
      };
    });
  }

  // ------------------------------------------------------------------ history over many buckets

  describe('a long chat over many time buckets', () => {
    let store: ScyllaStore;
    const a = PROVISIONED_USER_ID_MIN + 7_000_001;
    const b = a + 1;
    let msgs: StoredMessage[] = [];
    let chat: ChatState;

    before(async () => {
      store = await openScyllaStore(config(keyspace('buckets'), { bucket_ms: 50, migrate: true }));
      // Ids minted on a clock that moves 7 ms per message, with a 10 s silence in the middle: ~9 buckets of
      // 50 ms, then 200 empty ones, then ~8 more.
      let clock = Date.now() - 60_000;
      const ids = new IdGenerator(5, () => clock);
      chat = {
        chat_id: directChatId(a, b), kind: ChatKind.Direct, last_id: 0, last_seq: 0, name: '', created_by: 0,
        members: new Map([a, b].map((u) => [u, { user: u, delivered_id: 0, delivered_seq: 0, read_id: 0, joined_seq: 0, admin: false }])),
      };
      msgs = [];
      for (let i = 0; i < 120; i++) {
        clock += i === 60 ? 10_000 : 7;
        msgs.push({
          id: ids.next(), chat_id: chat.chat_id, seq: i + 1, sender: i % 3 === 0 ? b : a, client_msg_id: `bucket-${i}`,
          body: Buffer.from(`message ${i + 1}`), sent_at_ms: clock, kind: MessageKind.User,
        });
      }
      // Several commits, like ticks; the first creates the chat.
      for (let i = 0; i < msgs.length; i += 25) {
        await store.commit({ ...emptyBatch(), new_chats: i === 0 ? [chat] : [], messages: msgs.slice(i, i + 25) });
      }
    });
    after(() => store?.close());

    test("the partition keys the store routes batches by hash to the server's own token() of each partition", async () => {
      const client = new Client({ contactPoints: [node!.contactPoint], localDataCenter: 'datacenter1' });
      await client.connect();
      try {
        const ks = store.config.keyspace;
        const m = msgs[7]!;
        const bucket = store.bucketOf(m.id);
        const cases: [string, unknown[], Buffer][] = [
          [`SELECT token(chat_id, bucket) AS t FROM ${ks}.messages WHERE chat_id = ? AND bucket = ? LIMIT 1`, [m.chat_id, bucket],
            routingKeys.composite(routingKeys.text(m.chat_id), routingKeys.long(bucket))],
          [`SELECT token(sender, client_msg_id) AS t FROM ${ks}.client_ids WHERE sender = ? AND client_msg_id = ?`, [m.sender, m.client_msg_id],
            routingKeys.composite(routingKeys.long(m.sender), routingKeys.text(m.client_msg_id))],
          [`SELECT token(user_id) AS t FROM ${ks}.user_chats WHERE user_id = ? LIMIT 1`, [b], routingKeys.long(b)],
          [`SELECT token(chat_id) AS t FROM ${ks}.chat_members WHERE chat_id = ? LIMIT 1`, [chat.chat_id], routingKeys.text(chat.chat_id)],
          [`SELECT token(node) AS t FROM ${ks}.id_high_water WHERE node = ?`, [laneOfId(m.id)], routingKeys.int(laneOfId(m.id))],
        ];
        const tokenizer = (client.metadata as unknown as { tokenizer: { hash(b: Buffer): { getValue(): unknown } } }).tokenizer;
        for (const [cql, params, key] of cases) {
          const row = (await client.execute(cql, params, { prepare: true })).first();
          assert.ok(row, cql);
          assert.equal(String(tokenizer.hash(key).getValue()), String(row.t), cql);
        }
      } finally {
        await client.shutdown();
      }
    });

    test('the messages really are spread over many buckets', () => {
      const buckets = new Set(msgs.map((m) => store.bucketOf(m.id)));
      assert.ok(buckets.size >= 15, `${buckets.size} buckets`);
      const span = store.bucketOf(msgs.at(-1)!.id) - store.bucketOf(msgs[0]!.id) + 1;
      assert.ok(span > 200, `${span} buckets from first to last, most of them empty`);
    });

    test('history pages newest first through every bucket, with a before_id cursor', async () => {
      const seen: number[] = [];
      let cursor = 0;
      for (let pages = 0; pages < 40; pages++) {
        const page = await store.history(chat.chat_id, cursor, 7);
        if (page.length === 0) break;
        seen.push(...page.map((m) => m.id));
        cursor = page.at(-1)!.id;
      }
      assert.deepEqual(seen, msgs.map((m) => m.id).reverse());
      const all = await store.history(chat.chat_id, 0, 1000);
      assert.deepEqual(all.map(plainMessage), [...msgs].reverse().map(plainMessage));
      // A cursor inside the silence: everything before it.
      assert.deepEqual((await store.history(chat.chat_id, msgs[60]!.id - 1, 100)).map((m) => m.seq), Array.from({ length: 60 }, (_, i) => 60 - i));
    });

    test('messagesAfter pages oldest first through every bucket', async () => {
      const seen: number[] = [];
      let after = 0;
      for (let pages = 0; pages < 40; pages++) {
        const page = await store.messagesAfter(chat.chat_id, after, 9);
        if (page.length === 0) break;
        seen.push(...page.map((m) => m.id));
        after = page.at(-1)!.id;
      }
      assert.deepEqual(seen, msgs.map((m) => m.id));
    });

    test('the head, headAtOrBelow in the silence, and pendingChats see across buckets', async () => {
      const loaded = await store.loadChat(chat.chat_id);
      assert.equal(loaded?.last_id, msgs.at(-1)!.id);
      assert.equal(loaded?.last_seq, 120);
      assert.deepEqual(await store.headAtOrBelow(chat.chat_id, msgs[60]!.id - 1), { id: msgs[59]!.id, seq: 60 });
      assert.equal(await store.headAtOrBelow(chat.chat_id, msgs[0]!.id - 1), null);
      const lastFromA = [...msgs].reverse().find((m) => m.sender === a)!;
      assert.deepEqual(await store.pendingChats(b), [{ chat_id: chat.chat_id, delivered_id: 0, pending: lastFromA.seq }]);
    });
  });

  // ------------------------------------------------------------------ the whole system

  describe('the whole system on the ScyllaDB store', () => {
    let sys: RunningSystem;
    before(async () => {
      sys = await startSystem({ gateways: 2, env: systemEnv(keyspace('system')), startTimeoutMs: 30_000 });
    });
    after(async () => {
      await sys?.stop();
    });

    test('the chat service runs on the scylla store', () => {
      assert.ok(sys.chat.output.some((l) => /chat listening .* store=scylla/.test(l)), sys.chat.output.join('\n'));
    });

    test('1:1: send -> sent ack -> live delivery -> delivered and read receipts; a retry is not stored twice', async () => {
      const a = await connectUser(sys);
      const b = await connectReady(sys, newUserId(), { ackDelayMs: null }, 1);
      const got: MessageBody[] = [];
      b.onMessage = (m) => got.push(m);
      const sent = await a.send(b.userId, text('hello scylla'), 'once-1');
      assert.equal(sent.chat_id, directChatId(a.userId, b.userId));
      assert.equal(sent.seq, 1);
      await waitFor(() => got.length === 1, 5000, 'delivery');
      assert.equal(got[0]!.id, sent.id);
      assert.equal(bodyText(got[0]!.body), 'hello scylla');
      b.ack(sent.chat_id, sent.id);
      await waitFor(() => a.frames.some((f) => f.body === 'receipt' && f.receipt.kind === ReceiptKind.DELIVERED && f.receipt.up_to_id === sent.id), 5000, 'delivered');
      b.ack(sent.chat_id, sent.id, sent.id);
      await waitFor(() => a.frames.some((f) => f.body === 'receipt' && f.receipt.kind === ReceiptKind.READ && f.receipt.up_to_id === sent.id), 5000, 'read');
      const again = await a.send(b.userId, text('hello scylla'), 'once-1');
      assert.equal(again.id, sent.id, 'the retry gets the first id back');
      const page = await b.history(sent.chat_id);
      assert.deepEqual(page.messages.map((m) => m.id), [sent.id]);
      a.close();
      b.close();
    });

    test('1:1: messages to an offline user drain in order after reconnect, then live delivery resumes', async () => {
      const bId = newUserId();
      const b0 = await connectReady(sys, bId);
      b0.close();
      await b0.closedPromise();
      const a = await connectUser(sys);
      const ids: number[] = [];
      for (let i = 0; i < 30; i++) ids.push((await a.send(bId, text(`offline ${i}`))).id);
      const b = await connectUser(sys, bId);
      const got: MessageBody[] = [];
      b.onMessage = (m) => got.push(m);
      await waitFor(() => b.frames.some((f) => f.body === 'drain_done'), 10_000, 'drain done');
      assert.deepEqual(got.map((m) => m.id), ids);
      assert.ok(got.every((m) => m.replay));
      const live = await a.send(bId, text('live now'));
      await waitFor(() => got.length === 31, 5000, 'live after drain');
      assert.equal(got[30]!.id, live.id);
      assert.equal(b.duplicates, 0);
      // Acked: reconnecting again drains nothing.
      await sleep(400); // the watermark flush (every 200 ms)
      b.close();
      await b.closedPromise();
      const b2 = await connectUser(sys, bId);
      await waitFor(() => b2.frames.some((f) => f.body === 'drain_done'), 10_000, 'second drain');
      assert.equal(messagesOf(b2, directChatId(a.userId, bId)).length, 0);
      a.close();
      b2.close();
    });

    test('groups: creator is admin, one message reaches every member once, a removed member gets nothing after, history', async () => {
      const [aId, bId, cId, dId] = await provisionFresh(sys, 4);
      const a = await connectUser(sys, aId);
      const b = await connectUser(sys, bId, {}, 1);
      const c = await connectUser(sys, cId);
      const info = await a.createGroup('scylla friends', [bId!, cId!, dId!]);
      assert.deepEqual(new Map(info.members.map((m) => [m.user, m.admin])), new Map([[aId, true], [bId, false], [cId, false], [dId, false]]));
      const hi = await a.sendToChat(info.chat_id, text('hi all'));
      await waitFor(() => messagesOf(b, info.chat_id).length === 2 && messagesOf(c, info.chat_id).length === 2, 5000, 'fan-out');
      await a.changeGroup(info.chat_id, GroupChangeKind.REMOVE, [bId!]);
      const after = await a.sendToChat(info.chat_id, text('b is gone'));
      await waitFor(() => messagesOf(c, info.chat_id).length === 4, 5000, 'c sees everything');
      await sleep(200);
      assert.deepEqual(messagesOf(b, info.chat_id).map((m) => (m.system ? `system:${m.system.kind}` : bodyText(m.body))),
        [`system:${GroupChangeKind.CREATED}`, 'hi all', `system:${GroupChangeKind.REMOVE}`]);
      await assert.rejects(b.sendToChat(info.chat_id, text('still here?')), isCode('NOT_A_PARTICIPANT'));
      const page = await c.history(info.chat_id);
      assert.deepEqual(page.messages.map((m) => m.seq), [4, 3, 2, 1]);
      assert.equal(page.messages[0]!.id, after.id);
      assert.equal(page.messages[2]!.id, hi.id);
      // d was offline all along: it drains the group in order on connect.
      const d = await connectUser(sys, dId);
      await waitFor(() => d.frames.some((f) => f.body === 'drain_done'), 10_000, 'd drained');
      assert.deepEqual(messagesOf(d, info.chat_id).map((m) => m.seq), [1, 2, 3, 4]);
      assert.equal(d.duplicates, 0);
      for (const x of [a, b, c, d]) x.close();
    });

    test('groups: the aggregate delivered and read receipts arrive once every member has acked', async () => {
      const ids = await provisionFresh(sys, 6);
      const sender = await connectUser(sys, ids[0]);
      const members: TestClient[] = [];
      for (let i = 1; i < ids.length; i++) members.push(await connectReady(sys, ids[i], { ackDelayMs: null }, i % 2));
      const g = await sender.createGroup('receipts', ids.slice(1));
      const sent = await sender.sendToChat(g.chat_id, text('read me'));
      await waitFor(() => members.every((m) => messagesOf(m, g.chat_id).some((x) => x.id === sent.id)), 5000, 'everyone has it');
      for (const m of members) m.ack(g.chat_id, sent.id);
      await waitFor(() => sender.frames.some((f) => f.body === 'receipt' && f.receipt.user === 0 && f.receipt.kind === ReceiptKind.DELIVERED && f.receipt.up_to_id === sent.id), 5000, 'aggregate delivered');
      for (const m of members) m.ack(g.chat_id, sent.id, sent.id);
      await waitFor(() => sender.frames.some((f) => f.body === 'receipt' && f.receipt.user === 0 && f.receipt.kind === ReceiptKind.READ && f.receipt.up_to_id === sent.id), 5000, 'aggregate read');
      sender.close();
      for (const m of members) m.close();
    });
  });

  describe('history through the system when a chat spans many 50 ms buckets', () => {
    test('a client pages the whole chat, newest first, across buckets', async () => {
      const sys = await startSystem({ env: systemEnv(keyspace('sysbuckets'), { WA_SCYLLA_BUCKET_MS: '50' }), startTimeoutMs: 30_000 });
      try {
        const a = await connectUser(sys);
        const b = await connectReady(sys);
        const ids: number[] = [];
        for (let i = 0; i < 24; i++) {
          ids.push((await a.send(b.userId, text(`t${i}`))).id);
          await sleep(i % 4 === 3 ? 60 : 5); // a new bucket every few messages
        }
        const chatId = directChatId(a.userId, b.userId);
        const seen: number[] = [];
        let cursor = 0;
        for (let pages = 0; pages < 10; pages++) {
          const page = await b.history(chatId, cursor, 5);
          seen.push(...page.messages.map((m) => m.id));
          if (!page.next_before_id) break;
          cursor = page.next_before_id;
        }
        assert.deepEqual(seen, [...ids].reverse());
        a.close();
        b.close();
      } finally {
        await sys.stop();
      }
    });
  });

  // ------------------------------------------------------------------ durability

  describe('durability across a Cassandra restart', () => {
    test('kill -9 of the Cassandra JVM right after the sent acks: after a restart every acknowledged message is stored and delivered', async () => {
      const ks = keyspace('durable');
      let sys = await startSystem({ env: systemEnv(ks, { WA_SCYLLA_CONSISTENCY: 'LOCAL_QUORUM' }), startTimeoutMs: 30_000 });
      const bId = newUserId();
      const [gA, gB] = [newUserId(), newUserId()];
      let ids: number[] = [];
      let groupId = '';
      let groupMsg = 0;
      try {
        for (const u of [bId, gB]) {
          const c = await connectReady(sys, u);
          c.close();
          await c.closedPromise();
        }
        const a = await connectUser(sys);
        ids = await Promise.all(Array.from({ length: 40 }, (_, i) => a.send(bId, text(`durable ${i}`)).then((s) => s.id)));
        const ga = await connectUser(sys, gA);
        const g = await ga.createGroup('durable group', [gB]);
        groupId = g.chat_id;
        groupMsg = (await ga.sendToChat(g.chat_id, text('group survives'))).id;
        a.close();
        ga.close();
        await Promise.all([a.closedPromise(), ga.closedPromise()]);
        await sleep(300); // the last watermark flush and last_seen writes land before the node goes away
      } finally {
        await sys.stop();
      }
      // No drain, no flush of our tables: what comes back is what the commitlog held when the acks went out.
      // Only the schema is flushed: the test node keeps it out of the commitlog (see flushLocalNode).
      await flushLocalNode(node!, ['system_schema']);
      await killLocalNode(node!);
      assert.equal(await localNodeStatus(node!), 'stopped');
      await restartLocalNode(node!, log);
      log(`Cassandra restarted after kill -9 in ${(node!.startMs / 1000).toFixed(1)} s`);

      sys = await startSystem({ env: systemEnv(ks, { WA_SCYLLA_MIGRATE: '0' }), startTimeoutMs: 30_000 });
      try {
        const b = await connectUser(sys, bId);
        const gb = await connectUser(sys, gB);
        await waitFor(() => b.frames.some((f) => f.body === 'drain_done') && gb.frames.some((f) => f.body === 'drain_done'), 15_000, 'drains');
        const got = b.frames.filter((f) => f.body === 'message').map((f) => (f as { message: MessageBody }).message);
        assert.deepEqual(got.map((m) => m.id), [...ids].sort((x, y) => x - y));
        assert.deepEqual(new Set(got.map((m) => bodyText(m.body))), new Set(ids.map((_, i) => `durable ${i}`)));
        const groupGot = messagesOf(gb, groupId);
        assert.deepEqual(groupGot.map((m) => (m.system ? 'system' : bodyText(m.body))), ['system', 'group survives']);
        assert.equal(groupGot[1]!.id, groupMsg);
        // New ids keep growing after the restart.
        const after = await (await connectUser(sys, gA)).sendToChat(groupId, text('after restart'));
        assert.ok(after.id > groupMsg && after.id > Math.max(...ids));
        b.close();
        gb.close();
      } finally {
        await sys.stop();
      }
    });
  });
  fenceWindowTests(() => openScyllaStore(config(keyspace('fencewin'), { migrate: true })), () => node!.contactPoint);

  // ------------------------------------------------------------------ bad configuration

  describe('bad configuration fails at start with a clear error', () => {
    test('an unreachable contact point (nothing listens): a clear error within seconds', async () => {
      const port = await freePort();
      const t0 = Date.now();
      await assert.rejects(openScyllaStore(scyllaConfig({}, { contact_points: [`127.0.0.1:${port}`], keyspace: 'whatever', connect_timeout_ms: 2000 })),
        new RegExp(`store\\(scylla\\): cannot connect to 127\\.0\\.0\\.1:${port} .*ECONNREFUSED`));
      assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
    });

    test('a contact point that accepts TCP but never speaks CQL: the chat service exits 1 within the connect timeout, not a hang', async () => {
      // In a child process (the chat service itself): the driver keeps a half-open connection's heartbeat timer
      // alive for a minute after giving up, which would hold this test process open, not the failed service.
      const sockets: Socket[] = [];
      const silent: Server = createServer((s) => sockets.push(s));
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      const port = (silent.address() as { port: number }).port;
      const t0 = Date.now();
      try {
        await assert.rejects(
          startSystem({
            env: { WA_STORE: 'scylla', WA_SCYLLA_CONTACT_POINTS: `127.0.0.1:${port}`, WA_SCYLLA_CONNECT_TIMEOUT_MS: '1500', WA_CHAT_METRICS_PORT: '0' },
            startTimeoutMs: 20_000,
          }),
          /chat exited \(1\) before starting:[\s\S]*store\(scylla\): cannot connect to 127\.0\.0\.1:\d+ .*no answer within 3500 ms/,
        );
        assert.ok(sockets.length > 0, 'the driver did connect (and then heard nothing)');
        assert.ok(Date.now() - t0 < 1500 + 2000 + 12_000, `no hang: ${Date.now() - t0} ms (a process start under load took 7.9 s)`);
      } finally {
        for (const s of sockets) s.destroy();
        silent.close();
      }
    });

    test('a missing keyspace without migrate names the keyspace and the command that creates it', async () => {
      await assert.rejects(openScyllaStore(config(`wa_${RUN}_missing`)),
        /keyspace "wa_\w+_missing" does not exist: run `node dist\/server\/store\/scylla\/migrate\.js --keyspace wa_\w+_missing`/);
    });

    test('a bucket width different from the keyspace\'s is refused', async () => {
      const ks = keyspace('bucketcheck');
      const s = await openScyllaStore(config(ks, { bucket_ms: 1000, migrate: true }));
      await s.close();
      await assert.rejects(openScyllaStore(config(ks, { bucket_ms: 2000 })), /created with bucket_ms=1000; WA_SCYLLA_BUCKET_MS=2000 differs/);
    });

    test('malformed settings are refused before connecting', () => {
      assert.throws(() => scyllaConfig({ WA_SCYLLA_CONSISTENCY: 'MOSTLY' }), /WA_SCYLLA_CONSISTENCY=MOSTLY: must be one of/);
      assert.throws(() => scyllaConfig({ WA_SCYLLA_KEYSPACE: 'Bad-Name' }), /WA_SCYLLA_KEYSPACE=Bad-Name/);
      assert.throws(() => scyllaConfig({ WA_SCYLLA_RF: '0' }), /WA_SCYLLA_RF=0/);
      assert.throws(() => scyllaConfig({ WA_SCYLLA_CONTACT_POINTS: 'host:port:x' }), /not host\[:port\]/);
    });

    test('the chat service with an unreachable contact point exits 1 with that error, within seconds', async () => {
      const port = await freePort();
      const t0 = Date.now();
      await assert.rejects(
        startSystem({ env: { WA_STORE: 'scylla', WA_SCYLLA_CONTACT_POINTS: `127.0.0.1:${port}`, WA_CHAT_METRICS_PORT: '0' }, startTimeoutMs: 20_000 }),
        /chat exited \(1\) before starting:[\s\S]*chat: failed to start: store\(scylla\): cannot connect to 127\.0\.0\.1:\d+/,
      );
      assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
    });

    test('the chat service on a missing keyspace (no migrate) exits 1 naming the keyspace', async () => {
      await assert.rejects(
        startSystem({ env: { ...systemEnv(`wa_${RUN}_absent`), WA_SCYLLA_MIGRATE: '0' }, startTimeoutMs: 20_000 }),
        /chat exited \(1\) before starting:[\s\S]*keyspace "wa_\w+_absent" does not exist/,
      );
    });
  });
});

// A test run interrupted before `after` (Ctrl-C) still stops the node it started.
process.once('exit', () => {
  if (node) {
    try {
      execFileSync('bash', [join(REPO_ROOT, 'scripts', 'cassandra.sh'), 'stop'], {
        env: { ...process.env, WA_CASSANDRA_DATA: node.dataDir, WA_CASSANDRA_PORT: String(node.port) }, stdio: 'ignore', timeout: 60_000,
      });
    } catch {
      // best effort
    }
  }
});

test('a local node gets distinct CQL, internode and JMX ports (one port twice made its start fail)', async () => {
  for (let round = 0; round < 20; round++) {
    const ports = await freePorts(3);
    assert.equal(new Set(ports).size, 3, `distinct: ${ports.join(', ')}`);
    assert.ok(ports.every((p) => Number.isInteger(p) && p > 0));
  }
});
