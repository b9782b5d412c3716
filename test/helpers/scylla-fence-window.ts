// The fence gate's window on a real node (server/store/scylla/fences.ts): a commit
// hands writes to the driver only while its fence check is fresh, re-checks past
// fence_check_valid_ms, and the driver retries nothing once the check is stale.
// The conformance suite (store-conformance/fencing.ts) covers claim and refuse.
// Called from test/scylla-store.test.ts inside its node's describe.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, policies, types } from 'cassandra-driver';
import { SCYLLA_STORE_LIMITS } from '../../server/common/config-scylla';
import { PartitionFences } from '../../server/store/scylla/fences';
import { type ScyllaStore } from '../../server/store/scylla/scylla-store';
import { statements } from '../../server/store/scylla/statements';
import { partitionOf } from '../../server/common/chat-id';
import { bucketOfId } from '../../server/store/scylla/routing-keys';
import { FencedError, type ChatState, type StoredMessage } from '../../server/store/store';
import { batch, World } from './store-conformance/world';
import { sleep } from './system';

export function fenceWindowTests(openStore: () => Promise<ScyllaStore>, contactPoint: () => string): void {
  describe('fencing on CQL: a commit sends only while its fence check is fresh', () => {
    let store: ScyllaStore;
    let client: Client;
    let fences: PartitionFences;
    before(async () => {
      store = await openStore();
      client = new Client({ contactPoints: [contactPoint()], localDataCenter: 'datacenter1' });
      await client.connect();
      fences = new PartitionFences(client, statements(store.config.keyspace));
    });
    after(async () => {
      await client?.shutdown();
      await store?.close();
    });

    test('fresh: writes pass without a read; stale and claimed meanwhile: FencedError before any write, a plain error after some', async () => {
      assert.deepEqual(await store.claimPartitions([11, 12], 100), [11, 12]);
      const gate = await fences.check([{ partition: 11, token: 100 }, { partition: 12, token: 100 }]);
      assert.equal(gate.beforeWrite(), null, 'fresh: no read');
      const unsent = await fences.check([{ partition: 11, token: 100 }]);
      assert.deepEqual(await store.claimPartitions([11], 101), [11]);
      // Still fresh: the check passed before the claim; this is the window fence_check_valid_ms bounds.
      assert.equal(gate.beforeWrite(), null);
      await sleep(SCYLLA_STORE_LIMITS.fence_check_valid_ms + 50);
      assert.equal(gate.fresh(), false);
      await assert.rejects(gate.beforeWrite()!, /partition 11 fenced mid-commit \(claimed with token 101, this writer holds 100\) after 2 requests/);
      await assert.rejects(unsent.beforeWrite()!, (err: unknown) => err instanceof FencedError && err.partition === 11 && err.current === 101);
    });

    test('stale but not claimed: one re-check, then fresh again; the driver retries nothing while stale', async () => {
      assert.deepEqual(await store.claimPartitions([13], 200), [13]);
      const gate = await fences.check([{ partition: 13, token: 200 }]);
      const info = { query: 'x', executionOptions: {}, nbRetry: 0 } as never;
      const cl = types.consistencies.localQuorum;
      const yardstick = new policies.retry.RetryPolicy();
      const RETHROW = yardstick.rethrowResult().decision;
      const RETRY = yardstick.retryResult(cl).decision;
      assert.equal(gate.retry.onRequestError(info, cl, new Error('timeout')).decision, RETRY);
      await sleep(SCYLLA_STORE_LIMITS.fence_check_valid_ms + 50);
      assert.equal(gate.retry.onRequestError(info, cl, new Error('timeout')).decision, RETHROW);
      assert.equal(gate.retry.onUnavailable(info, cl, 2, 1 as never).decision, RETHROW);
      const waits = [gate.beforeWrite(), gate.beforeWrite()];
      assert.ok(waits[0] && waits[1], 'stale: both wait for the re-check');
      await Promise.all(waits);
      assert.equal(gate.fresh(), true);
      assert.equal(gate.beforeWrite(), null);
    });

    // late-rows.ts: the requests a paused former owner handed to the driver before its pause land when it resumes,
    // with the timestamps they were made with. Here that request is made by hand, as the driver would have.
    async function lateRowRace(fenced: boolean, token: number) {
      const w = new World();
      const [a, b] = [w.user(), w.user()];
      const chat = w.direct(a, b);
      const p = partitionOf(chat.chat_id);
      await store.claimPartitions([p], token);
      await store.commit(batch({ new_chats: [chat], messages: w.messages(chat, a, 3), fences: [{ partition: p, token }] }));
      const late = w.message({ ...chat }, a, 'made before the pause, lands after the takeover');
      const lateAt = Date.now() * 1000;
      await sleep(5); // the pause
      assert.deepEqual(await store.claimPartitions([p], token + 1), [p]);
      const loaded = (await store.loadChat(chat.chat_id, fenced ? { partition: p, token: token + 1 } : undefined))!;
      assert.equal(loaded.last_seq, 3);
      const q = statements(store.config.keyspace);
      const opts = { prepare: true, timestamp: lateAt, consistency: types.consistencies.localQuorum };
      await client.execute(q.messageInsert, [late.chat_id, bucketOfId(late.id, store.bucketMs), late.id, late.seq, late.sender, late.client_msg_id, late.body, late.sent_at_ms, late.kind], opts);
      await client.execute(q.clientIdInsert, [late.sender, late.client_msg_id, late.chat_id, late.id, 600], opts);
      const mine: StoredMessage = w.message(loaded as ChatState, b, 'the new owner\'s next message');
      await store.commit(batch({ messages: [mine], fences: [{ partition: p, token: token + 1 }] }));
      return { chat, late, mine, history: await store.history(chat.chat_id, 0, 10) };
    }

    test('a former owner\'s message row that lands after the newer owner loaded the chat is shadowed: no (chat, seq) twice', async () => {
      const { chat, late, mine, history } = await lateRowRace(true, 400);
      assert.deepEqual(history.map((m) => [m.seq, m.sender]), [[4, mine.sender], [3, late.sender], [2, late.sender], [1, late.sender]]);
      assert.equal(history[0]!.id, mine.id);
      assert.equal((await store.findByClientIds([{ sender: late.sender, client_msg_id: late.client_msg_id }])).size, 0, 'its client id finds nothing: a retry is stored anew');
      const mark = (await client.execute(`SELECT fenced_token FROM ${store.config.keyspace}.chat_members WHERE chat_id = ?`, [chat.chat_id], { prepare: true })).first();
      assert.equal(Number(mark!.fenced_token), 401, 'the chat is marked with the loading token: later loads under it write nothing');
    });

    test('the same race loaded without a fence keeps both rows: the hole the tombstone closes', async () => {
      const { late, mine, history } = await lateRowRace(false, 500);
      assert.deepEqual(history.map((m) => m.seq), [4, 4, 3, 2, 1]);
      assert.deepEqual(new Set(history.slice(0, 2).map((m) => m.id)), new Set([late.id, mine.id]));
    });
  });

}
