// The generator's per-message path after issue 14's cuts: the shared ack
// clock, one write per connection per turn for sends, acks and reads, and the
// coordinator's histogram shortcuts (one-walk percentiles, bounded add), each
// pinned against what it replaced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AckClock } from '../loadgen/client/ack-clock';
import { ChatClient } from '../loadgen/client/chat-client';
import type { Transport } from '../loadgen/client/transport';
import { LatencyHistogram } from '../loadgen/metrics/latency';
import { decodeClientFrame, encodeServerFrame, frameBatch, splitBatch } from '../server/common/protocol';
import { encodeSendFrame } from '../loadgen/drivers/system-connection';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('percentilesMs walks once and equals percentileMs; the bounded add equals the library add', () => {
  const r = rng(14);
  for (let round = 0; round < 20; round++) {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const n = 1 + Math.floor(r() * 3000);
    for (let i = 0; i < n; i++) a.recordMs(r() < 0.9 ? r() * 50 : r() * 60_000);
    for (let i = 0; i < n / 2; i++) b.recordMs(r() * 2000);
    const ps = [0, 50, 90, 95, 99, 99.9, 100];
    assert.deepEqual(a.percentilesMs(ps), ps.map((p) => a.percentileMs(p)));
    const viaLibrary = LatencyHistogram.decode(a.encode());
    viaLibrary.h.add(b.h);
    const ours = LatencyHistogram.decode(a.encode());
    ours.add(b);
    assert.equal(ours.count, viaLibrary.count);
    assert.equal(ours.h.maxValue, viaLibrary.h.maxValue);
    assert.equal(ours.h.minNonZeroValue, viaLibrary.h.minNonZeroValue);
    assert.deepEqual(ours.percentilesMs(ps), viaLibrary.percentilesMs(ps));
    assert.equal(ours.encode(), viaLibrary.encode());
  }
  assert.deepEqual(new LatencyHistogram().percentilesMs([50, 99]), [0, 0]);
});

test('the ack clock flushes each registered client once, in due order, on one timer', async () => {
  let now = 0;
  const clock = new AckClock(() => now);
  const order: string[] = [];
  const client = (name: string) => ({ flushAcks: () => order.push(name) });
  clock.schedule(client('a'), 5);
  clock.schedule(client('b'), 0);
  now = 1;
  clock.schedule(client('c'), 5);
  assert.equal(clock.pending, 3);
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(order, ['b']); // a and c are not due on the fake clock yet
  now = 6;
  await new Promise((r) => setTimeout(r, 15));
  assert.deepEqual(order, ['b', 'a', 'c']);
  assert.equal(clock.pending, 0);
});

class RecordingTransport implements Transport {
  sent: Uint8Array[] = [];
  onmessage: (data: Buffer) => void = () => {};
  onclose: (code: number, reason: string) => void = () => {};
  readonly bufferedAmount = 0;
  send(data: Uint8Array): void {
    this.sent.push(data);
  }
  close(): void {}
  pause(): void {}
  resume(): void {}
}

test("a connection's sends, acks and reads of one turn leave in one write; delivered acks stay cumulative and de-duplicated", async () => {
  const t = new RecordingTransport();
  const c = ChatClient.over(t, { ackDelayMs: 0 });
  const delivered: number[] = [];
  c.onMessage = (m) => delivered.push(m.id);
  // Deliveries 1, 2 and a duplicate of 2 in one server batch.
  const msg = (id: number) => encodeServerFrame({ message: { id, chat_id: 'c1', seq: id, from_user: 7, client_msg_id: `x${id}`, body: Buffer.alloc(30), sent_at_ms: 1, replay: false } as never });
  t.onmessage(Buffer.from(frameBatch([msg(1), msg(2), msg(2)])));
  assert.deepEqual(delivered, [1, 2]);
  assert.equal(c.duplicates, 1);
  await new Promise((r) => setTimeout(r, 10)); // the ack clock's turn, then the batch's
  assert.equal(t.sent.length, 1);
  const acks = splitBatch(t.sent[0]!, 100).map(decodeClientFrame);
  assert.equal(acks.length, 1);
  assert.equal(acks[0]!.body, 'ack');
  assert.equal((acks[0] as { ack: { delivered_up_to: number } }).ack.delivered_up_to, 2);
  // A send, a read and another send in the same turn: one write, three frames in order.
  c.queueFrame(encodeSendFrame(5, 42, 'm1', Buffer.alloc(20)));
  c.ack('c1', 2, 2);
  c.queueFrame(encodeSendFrame(6, 42, 'm2', Buffer.alloc(20)));
  await new Promise((r) => setImmediate(r));
  assert.equal(t.sent.length, 2);
  const frames = splitBatch(t.sent[1]!, 100).map(decodeClientFrame);
  assert.deepEqual(frames.map((f) => f.body), ['send', 'ack', 'send']);
  assert.deepEqual(frames.map((f) => f.ref), [5, 0, 6]);
  // Closed: nothing more leaves, and a pending ack does not either.
  t.onmessage(Buffer.from(frameBatch([msg(3)])));
  t.onclose(1000, '');
  c.queueFrame(encodeSendFrame(7, 42, 'm3', Buffer.alloc(20)));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(t.sent.length, 2);
});
