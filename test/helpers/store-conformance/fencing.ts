// Store conformance, part: partition fencing (claimPartitions, CommitBatch.fences).
// A chat node that lost a partition may still be running (paused, partitioned
// from etcd); its late commit must change nothing once a newer owner claimed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partitionOf } from '../../../server/common/chat-id';
import { FencedError } from '../../../server/store/store';
import { batch, type ConformanceContext } from './world';

export function fencingConformance(c: ConformanceContext): void {
  test('a commit under the current token is stored; under a lower one it is refused whole, with FencedError', async () => {
    const a = c.w.user();
    const b = c.w.user();
    const chat = c.w.direct(a, b);
    const p = partitionOf(chat.chat_id);
    const base = 1_000_000 + p * 10;
    assert.deepEqual(await c.store.claimPartitions([p], base + 1), [p]);
    const first = c.w.messages(chat, a, 2);
    await c.store.commit(batch({ new_chats: [chat], messages: first, fences: [{ partition: p, token: base + 1 }] }));
    assert.equal((await c.store.history(chat.chat_id, 0, 10)).length, 2);

    // A newer owner claims; the old owner's late commit (same seq range as the new owner would use) is refused.
    assert.deepEqual(await c.store.claimPartitions([p], base + 2), [p]);
    const late = c.w.messages(chat, b, 1);
    await assert.rejects(
      c.store.commit(batch({ messages: late, fences: [{ partition: p, token: base + 1 }] })),
      (err: unknown) => err instanceof FencedError && err.partition === p && err.current === base + 2,
    );
    assert.equal((await c.store.history(chat.chat_id, 0, 10)).length, 2, 'nothing of the fenced batch was stored');
    assert.equal((await c.store.findByClientIds([{ sender: b, client_msg_id: late[0]!.client_msg_id }])).size, 0);

    // The new owner writes under its token.
    await c.store.commit(batch({ messages: late, fences: [{ partition: p, token: base + 2 }] }));
    assert.equal((await c.store.history(chat.chat_id, 0, 10)).length, 3);
  });

  test('a claim with a lower token than the current one is left out (the partition moved on again)', async () => {
    const p = 777;
    assert.deepEqual(await c.store.claimPartitions([p, p - 1], 5_000_010), [p, p - 1]);
    assert.deepEqual(await c.store.claimPartitions([p, p - 2], 5_000_005), [p - 2]);
  });
}
