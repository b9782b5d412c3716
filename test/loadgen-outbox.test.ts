// The simulated client's outbox, in process: the outbox itself (bounded,
// send order kept per user), the backoff it retries with, and the world's use
// of it through a connection drop, against a driver that records what each
// connection was asked to write and lets the test play the target (acks,
// closes). The same behaviour against the real system, with a gateway killed
// and restarted under load, is test/loadgen-outage.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OUTBOX_SENDS_MAX, Outbox } from '../loadgen/world/outbox';
import { backoffMs } from '../lib/backoff';
import { World } from '../loadgen/world/world';
import { MetricsRegistry } from '../loadgen/metrics/registry';
import { planRun } from '../loadgen/model/plan';
import { segmentsOf } from '../loadgen/model/segments';
import { DEFAULT_TRAFFIC, type Scenario } from '../loadgen/model/scenario';
import { readHeader, type PayloadHeader } from '../loadgen/model/payload';
import type { ConnectionEvents, LoadConnection, LoadDriver } from '../loadgen/drivers/connection';
import type { Executor, Vu } from '../loadgen/executors/executor';
import { SendPool } from '../loadgen/world/send-pool';

describe('the outbox', () => {
  const item = (order: number) => ({ order });

  test('is bounded per user: a new send past the bound is refused, one already on the wire never is', () => {
    const box = new Outbox<{ order: number }>(2, 3);
    for (let i = 0; i < 3; i++) assert.equal(box.push(0, item(i)), true);
    assert.equal(box.push(0, item(3)), false, 'the 4th new send does not fit');
    assert.equal(box.sizeOf(0), 3);
    assert.equal(box.push(1, item(4)), true, 'the bound is per user');
    assert.equal(box.push(0, item(5), true), true, 'a send that was on the wire comes back even when full');
    assert.equal(box.size, 5);
    assert.equal(OUTBOX_SENDS_MAX >= 64, true, 'the default leaves room for a few seconds of a busy chat');
  });

  test('keeps each user\'s sends in send order, whatever order they come back in', () => {
    const box = new Outbox<{ order: number }>(1);
    // Made while the connection was down: 7, 8; then 5 and 6 (on the wire when it dropped) come back.
    box.push(0, item(7));
    box.push(0, item(8));
    box.push(0, item(6), true);
    box.push(0, item(5), true);
    assert.deepEqual(box.takeAll(0).map((p) => p.order), [5, 6, 7, 8]);
    assert.equal(box.sizeOf(0), 0, 'taken: empty');
    assert.equal(box.size, 0);
  });

  test('a send that times out while waiting leaves; a held user holds until its time', () => {
    const box = new Outbox<{ order: number }>(1);
    const a = item(1);
    const b = item(2);
    box.push(0, a);
    box.push(0, b);
    assert.equal(box.remove(0, a), true);
    assert.equal(box.remove(0, a), false, 'only once');
    assert.deepEqual(box.takeAll(0), [b]);
    box.hold(0, 100);
    assert.equal(box.isHeld(0, 99), true);
    assert.equal(box.isHeld(0, 100), false);
  });
});

describe('send slots', () => {
  test('an answer to an earlier use of a slot is not taken for the send that uses it now', () => {
    const pool = new SendPool(2);
    const executor = { iterationDone: () => {} } as unknown as Executor;
    const vu: Vu = { id: 0, executor, busy: true, gen: 1, scheduledMs: 0, startMs: 0, iterations: 0, retiring: false };
    const first = pool.take(vu, 0, 0, 1, 0, -1, 0, 64, 0);
    const firstRef = pool.refOf(first);
    assert.equal(pool.ofRef(firstRef, 0), first);
    assert.equal(pool.ofRef(firstRef, 1), null, 'another sender\'s answer');
    pool.release(first, false); // it timed out
    const second = pool.take(vu, 0, 0, 2, 0, -1, 0, 64, 1);
    assert.equal(second.index, first.index, 'the slot is reused');
    assert.equal(pool.ofRef(firstRef, 0), null, 'the late answer to the first send is ignored');
    assert.equal(pool.ofRef(pool.refOf(second), 0), second);
    assert.ok(pool.refOf(second) < 2 ** 32, 'a ref fits the protocol\'s uint32');
  });
});

describe('backoff with jitter', () => {
  test('each attempt waits between half and all of an exponentially growing ceiling, capped', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      const ceiling = Math.min(2000, 250 * 2 ** attempt);
      assert.equal(backoffMs(attempt, 250, 2000, () => 0), ceiling / 2);
      assert.ok(backoffMs(attempt, 250, 2000, () => 0.999999) <= ceiling);
    }
    assert.equal(backoffMs(50, 250, 2000, () => 0.5), 1500, 'capped, no overflow');
  });
});

// ---------------------------------------------------------------- the world through a connection drop

interface Written {
  conn: number;
  ref: number;
  clientMsgId: string;
  to: number;
  number: number;
  scheduledMs: number;
}

/** Plays the target: every connection's writes are recorded; the test answers and closes them. */
class RecordingDriver implements LoadDriver {
  readonly name = 'system';
  readonly acks = true;
  readonly written: Written[] = [];
  readonly events: ConnectionEvents[] = [];
  refuse = false;
  private readonly header: PayloadHeader = { scheduledMs: 0, stream: 0, number: 0, slot: 0, scenario: 0, flags: 0 };

  connect(_gi: number, ev: ConnectionEvents): Promise<LoadConnection> {
    if (this.refuse) return Promise.reject(new Error('ECONNREFUSED'));
    const id = this.events.push(ev) - 1;
    const record = (to: number, body: Uint8Array, ref: number, clientMsgId: string) => {
      readHeader(body, this.header);
      this.written.push({ conn: id, ref, clientMsgId, to, number: this.header.number, scheduledMs: this.header.scheduledMs });
    };
    return Promise.resolve({
      sendMessage: record,
      sendGroupMessage: (_chat, body, ref, cmid) => record(-1, body, ref, cmid),
      markRead: () => {},
      heartbeat: () => {},
      close: () => {},
    });
  }
}

function worldOf(driver: RecordingDriver, users: number): { world: World; metrics: MetricsRegistry } {
  const scenario: Scenario = {
    name: 'outbox', description: 'unit', production: { users: 2e9, messagesPerSecond: 1.16e6, notes: 'test' }, scale: { factor: 1e-6, basis: 'test' },
    traffic: { ...DEFAULT_TRAFFIC, users, contactsPerUser: 1 },
    options: { scenarios: { chat: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '1s', preAllocatedVUs: 10, maxVUs: 10 } } },
  };
  const plan = planRun(scenario);
  const metrics = new MetricsRegistry(['chat']);
  return { world: new World(segmentsOf(plan, 0, 1, 1)[0]!, plan, driver, metrics, []), metrics };
}

/** VUs whose iterations record how they ended. */
function vus(n: number, ended: boolean[]): Vu[] {
  const executor = { iterationDone: (vu: Vu, _gen: number, ok: boolean) => { ended[vu.id] = ok; } } as unknown as Executor;
  return Array.from({ length: n }, (_, id) => ({ id, executor, busy: true, gen: 1, scheduledMs: 1000 + id, startMs: 0, iterations: 0, retiring: false }));
}

describe('the world\'s outbox through a connection drop', () => {
  test('sends on the wire go again after the reconnect with the same client_msg_id, in order, before sends made while down', async () => {
    const driver = new RecordingDriver();
    const { world, metrics } = worldOf(driver, 4);
    for (let u = 0; u < 4; u++) await world.connections.connect(u);
    const ended: boolean[] = [];
    const [v0, v1, v2, v3] = vus(4, ended);
    world.send(v0!, 0, 0, 0, 64);
    world.send(v1!, 0, 0, 0, 64);
    const first = driver.written.filter((w) => w.conn === 0);
    assert.deepEqual(first.map((w) => w.number), [1, 2]);
    // The target answers #1, then closes user 0's connection with #2 unanswered.
    driver.events[0]!.onSent(first[0]!.ref, 101, 'c');
    driver.events[0]!.onClose(1006, 'gone');
    assert.equal(world.connections.isOnline(0), false);
    assert.equal(world.active.has(0), true, 'still a sender: it is coming back');
    world.send(v2!, 0, 0, 0, 64); // made while down: waits
    world.send(v3!, 0, 0, 0, 64);
    assert.equal(driver.written.length, 2, 'nothing written while down');
    // The reconnect (backoff 125-250 ms) opens connection 4; the outbox goes out at once.
    for (let i = 0; i < 40 && !world.connections.isOnline(0); i++) await sleep(25);
    assert.equal(world.connections.isOnline(0), true, 'reconnected by itself');
    const again = driver.written.filter((w) => w.conn === 4);
    assert.deepEqual(again.map((w) => w.number), [2, 3, 4], 'per chat order kept: the unanswered send first');
    assert.equal(again[0]!.clientMsgId, first[1]!.clientMsgId, 'the retry carries the same client_msg_id');
    assert.equal(again[0]!.ref, first[1]!.ref, '... and the same slot');
    assert.equal(again[0]!.scheduledMs, first[1]!.scheduledMs, '... and is timed from the same scheduled time');
    for (const w of again) driver.events[4]!.onSent(w.ref, 200 + w.number, 'c');
    assert.deepEqual(ended, [true, true, true, true]);
    const c = metrics.counter;
    assert.equal(c.sends_ok.value, 4);
    assert.equal(c.sends_retried.value, 1, 'one send was written twice');
    assert.equal(c.sends_outboxed.value, 3, 'one came back, two were made while down');
    assert.equal(c.messages_sent.value, 4, 'messages_sent counts first transmissions');
    assert.equal(c.messages_unacknowledged.value, 0, 'nothing abandoned any more');
    world.closeAll();
  });

  test('past the outbox bound a send fails as outbox_full; at the end what waits is counted queued', async () => {
    const driver = new RecordingDriver();
    const { world, metrics } = worldOf(driver, 4);
    for (let u = 0; u < 4; u++) await world.connections.connect(u);
    driver.refuse = true; // the target stays down
    driver.events[0]!.onClose(1006, 'gone');
    const ended: boolean[] = [];
    const all = vus(OUTBOX_SENDS_MAX + 1, ended);
    for (const vu of all) world.send(vu, 0, 0, 0, 64);
    assert.equal(ended[OUTBOX_SENDS_MAX], false, 'the one past the bound failed at once');
    assert.equal(ended.filter((x) => x !== undefined).length, 1);
    const snap = metrics.takeSnapshot();
    assert.equal(snap.counters['sends_failed{reason:outbox_full}'], 1);
    world.settleQueuedAtEnd();
    const end = metrics.takeSnapshot();
    assert.equal(end.counters.sends_queued_at_end, OUTBOX_SENDS_MAX, 'what still waited is queued at the end');
    assert.equal(end.rates.send_success?.[0], 0);
    world.countMissing();
    assert.equal(metrics.takeSnapshot().counters.delivery_lost ?? 0, 0, 'sends never written are not expected anywhere');
    world.closeAll();
  });
});
