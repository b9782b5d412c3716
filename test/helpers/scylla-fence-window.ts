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
import { FencedError } from '../../server/store/store';
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
  });

}
