// The gateway's hold for partitions without an owner (server/gateway/cluster-router.ts), on a real
// etcd with no chat node in it: frames wait in order, bounded in count (past it: 'unavailable') and
// in time (past it: the give-up callback, which answers the client UNAVAILABLE).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_LIMITS } from '../server/common/config';
import { peerKey } from '../server/common/peer-auth';
import { newSecret } from '../server/common/token';
import { ClusterRouter } from '../server/gateway/cluster-router';
import { startEtcd, type EtcdServer } from '../deploy/services/etcd';
import { waitFor } from './helpers/system';

describe('cluster router hold', () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });

  test('frames for a partition with no owner are held, bounded in count and time; the client is told when a hold ends', async () => {
    const router = new ClusterRouter({
      etcd: etcd.endpoint, gatewayId: 'gw-test', peerKey: peerKey(newSecret()),
      limits: { ...DEFAULT_LIMITS, gateway_hold_frames_max: 3, gateway_hold_ms: 300 },
      sessions: () => [], onBatch: () => {}, closeConns: () => {}, log: () => {},
    });
    await router.start();
    try {
      assert.equal(router.up, false, 'no chat node: clients are not accepted');
      const gaveUp: number[] = [];
      const item = (conn: number) => ({ conn, user: 1, frame: new Uint8Array([conn]), recv_at_us: 0 });
      assert.equal(router.frame(5, item(1), () => gaveUp.push(1)), 'held');
      assert.equal(router.frame(5, item(2), () => gaveUp.push(2)), 'held');
      assert.equal(router.frame(9, item(3), () => gaveUp.push(3)), 'held');
      assert.equal(router.frame(9, item(4), () => gaveUp.push(4)), 'unavailable', 'past gateway_hold_frames_max');
      assert.equal((router.health().cluster as { frames_held: number }).frames_held, 3);
      await waitFor(() => gaveUp.length === 3, 3000, 'every held frame given up after gateway_hold_ms');
      assert.deepEqual(gaveUp, [1, 2, 3], 'in arrival order');
      assert.equal((router.health().cluster as { frames_held: number }).frames_held, 0);
      assert.equal(router.frame(9, item(5), () => {}), 'held', 'room again');
    } finally {
      router.close();
    }
  });
});
