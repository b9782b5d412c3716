// The chat engine's decisions, in process: a real embedded store in memory, an
// injected clock and a fake sink (test/helpers/engine-harness.ts). No sockets,
// no gRPC, no timers: each test runs in milliseconds and the same way every
// time. The process-level tests (messaging, groups, limits) check the same
// behaviour through real gateways.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { advanceDelivered, advanceRead } from '../server/chat/chat-state';
import { directChatId, partitionOf } from '../server/common/chat-id';
import { ErrorCode } from '../server/common/errors';
import { IdGenerator } from '../server/common/ids';
import { decodeSystemEvent, GroupChangeKind, ReceiptKind } from '../server/common/protocol';
import { MessageKind } from '../server/store/store';
import { InvariantError } from '../lib/invariant';
import { EngineHarness } from './helpers/engine-harness';

async function harness(limits = {}): Promise<EngineHarness> {
  return new EngineHarness(limits).start();
}

describe('chat engine in process: 1:1 messages', () => {
  test('a send is committed before anything tells of it: commit, then the sent ack, then the delivery', async () => {
    const h = await harness();
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    await h.connect(b);
    h.log.clear();
    h.send(a, b, 'hello', 'c1', 7);
    await h.settle();
    assert.deepEqual(h.log.all.map((e) => e.t), ['commit', 'sent', 'message']);
    const sent = h.log.of('sent')[0]!;
    assert.equal(sent.ref, 7);
    assert.equal(sent.to.user, a);
    assert.equal(sent.msg.chat_id, directChatId(a, b));
    assert.equal(sent.msg.seq, 1);
    assert.deepEqual(h.deliveries(), [{ users: [b], text: 'hello', id: sent.msg.id, seq: 1 }]);
    assert.equal((await h.store.history(sent.msg.chat_id, 0, 10)).length, 1);
    await h.close();
  });

  test('a retry with the same client_msg_id answers with the stored message and stores nothing new', async () => {
    const h = await harness();
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    h.send(a, b, 'once', 'same-id');
    h.send(a, b, 'once', 'same-id'); // the same tick: the twin is found in the tick's own cache
    await h.settle();
    h.send(a, b, 'once', 'same-id'); // a later tick
    await h.settle();
    const sent = h.log.of('sent');
    assert.equal(sent.length, 3);
    assert.ok(sent.every((s) => s.msg.id === sent[0]!.msg.id));
    assert.equal(h.engine.stats.duplicatesSuppressed, 2);
    assert.equal((await h.store.history(directChatId(a, b), 0, 10)).length, 1);
    await h.close();
  });

  test('ids and seqs increase in send order within a chat, also when the clock steps back', async () => {
    const h = await harness();
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    for (let i = 0; i < 5; i++) {
      h.send(a, b, `m${i}`);
      if (i === 2) h.nowMs -= 60_000;
      await h.settle();
    }
    const msgs = h.log.of('sent').map((s) => s.msg);
    assert.deepEqual(msgs.map((m) => m.seq), [1, 2, 3, 4, 5]);
    for (let i = 1; i < msgs.length; i++) assert.ok(msgs[i]!.id > msgs[i - 1]!.id, `id ${i} increases`);
    await h.close();
  });

  test('cumulative acks move watermarks forward only and send one receipt per move to the sender', async () => {
    const h = await harness();
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    await h.connect(b);
    for (const t of ['1', '2', '3']) h.send(a, b, t);
    await h.settle();
    const ids = h.log.of('sent').map((s) => s.msg.id);
    const chat = directChatId(a, b);
    h.log.clear();
    h.ack(b, chat, ids[2]!); // delivered up to the third: one receipt covers all three
    await h.settle();
    h.ack(b, chat, ids[0]!); // an older ack moves nothing
    await h.settle();
    h.ack(b, chat, ids[2]!, ids[1]!); // read up to the second
    await h.settle();
    const receipts = h.log.of('receipt').map((r) => ({ kind: r.kind, upTo: r.upTo, user: r.user, to: r.users }));
    assert.deepEqual(receipts, [
      { kind: ReceiptKind.DELIVERED, upTo: ids[2], user: b, to: [a] },
      { kind: ReceiptKind.READ, upTo: ids[1], user: b, to: [a] },
    ]);
    // Watermarks reach the store with the next flush, not with each ack.
    assert.equal((await h.store.loadChat(chat))!.members.get(b)!.delivered_id, 0);
    h.engine.requestWatermarkFlush();
    await h.settle();
    const stored = (await h.store.loadChat(chat))!.members.get(b)!;
    assert.equal(stored.delivered_id, ids[2]);
    assert.equal(stored.read_id, ids[1]);
    await h.close();
  });

  test('a frame the edge would refuse gets the same code from the engine (one validation module)', async () => {
    const h = await harness();
    const a = await h.newUser();
    await h.connect(a);
    h.frame(a, { ref: 3, ack: { chat_id: '' } });
    h.frame(a, { ref: 4, history: { chat_id: 'x'.repeat(65) } });
    h.send(a, a, 'me');
    await h.settle();
    assert.deepEqual(h.log.of('error').map((e) => e.code), [ErrorCode.MISSING_FIELD, ErrorCode.FIELD_TOO_LONG, ErrorCode.SELF_SEND]);
    assert.equal(h.log.of('commit').length, 0, 'nothing stored');
    await h.close();
  });

  test('sends to an unknown user or past offline_queue_messages_max are refused and store nothing', async () => {
    const h = await harness({ offline_queue_messages_max: 2 });
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    h.send(a, 999_999_999, 'nobody');
    for (const t of ['1', '2', '3']) h.send(a, b, t);
    await h.settle();
    assert.deepEqual(h.log.of('error').map((e) => e.code), [ErrorCode.UNKNOWN_USER, ErrorCode.QUEUE_FULL]);
    assert.equal((await h.store.history(directChatId(a, b), 0, 10)).length, 2);
    assert.equal(h.engine.stats.sendsRejected, 2);
    await h.close();
  });
});

describe('chat engine in process: offline queues and drains', () => {
  test('an offline user gets nothing live; on connect its queue drains in order, paced by acks, then DrainDone', async () => {
    const h = await harness({ drain_page_messages_max: 2 });
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    for (const t of ['1', '2', '3', '4', '5']) h.send(a, b, t);
    await h.settle();
    assert.deepEqual(h.deliveries(), [], 'b is offline');
    h.log.clear();
    await h.connect(b);
    const chat = directChatId(a, b);
    const pages: string[][] = [];
    for (let i = 0; i < 5 && h.log.of('drain_done').length === 0; i++) {
      const page = h.log.of('replay').at(-1)!;
      pages.push(page.msgs.map((m) => Buffer.from(m.body).toString()));
      h.log.clear();
      h.ack(b, chat, page.msgs.at(-1)!.id);
      await h.settle();
    }
    assert.deepEqual(pages, [['1', '2'], ['3', '4'], ['5']]);
    assert.equal(h.log.of('drain_done')[0]!.messages, 5);
    assert.equal(h.engine.stats.deliveriesReplayed, 5);
    await h.close();
  });

  test('messages older than offline_queue_ttl_seconds are not drained (the clock is the engine\'s)', async () => {
    const h = await harness({ offline_queue_ttl_seconds: 3600 });
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    h.send(a, b, 'old');
    await h.settle();
    h.nowMs += 2 * 3600 * 1000;
    h.send(a, b, 'new');
    await h.settle();
    h.log.clear();
    await h.connect(b);
    assert.deepEqual(h.log.of('replay').flatMap((p) => p.msgs.map((m) => Buffer.from(m.body).toString())), ['new']);
    await h.close();
  });

  test('drain_concurrent_max drains at once; a drain that stops acking gives its slot back after drain_ack_timeout_ms', async () => {
    const h = await harness({ drain_concurrent_max: 1, drain_ack_timeout_ms: 10_000 });
    const [a, b, c] = [await h.newUser(), await h.newUser(), await h.newUser()];
    await h.connect(a);
    h.send(a, b, 'for b');
    h.send(a, c, 'for c');
    await h.settle();
    h.log.clear();
    await h.connect(b);
    await h.connect(c);
    assert.deepEqual(h.log.of('replay').map((p) => p.to.user), [b], 'c waits for the slot');
    assert.deepEqual(h.engine.drainCounts(), { active: 1, queued: 1 });
    h.nowMs += 10_001; // b never acks
    h.engine.expireDrains();
    await h.settle();
    assert.deepEqual(h.log.of('replay').map((p) => p.to.user), [b, c]);
    await h.close();
  });

  test('a message for a user who is draining waits for the drain, so order holds across the switch', async () => {
    const h = await harness();
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    h.send(a, b, 'queued');
    await h.settle();
    h.log.clear();
    await h.connect(b); // drain sends 'queued' and waits for b's ack
    h.send(a, b, 'live');
    await h.settle();
    assert.deepEqual(h.deliveries(), [], 'no live copy while b drains');
    h.ack(b, directChatId(a, b), h.log.of('replay')[0]!.msgs[0]!.id);
    await h.settle();
    const replayed = h.log.of('replay').flatMap((p) => p.msgs.map((m) => Buffer.from(m.body).toString()));
    assert.deepEqual(replayed, ['queued', 'live']);
    await h.close();
  });
});

describe('chat engine in process: groups and presence', () => {
  test('one stored message fans out to every member; a removed member receives nothing sent after removal', async () => {
    const h = await harness();
    const [a, b, c] = [await h.newUser(), await h.newUser(), await h.newUser()];
    for (const u of [a, b, c]) await h.connect(u);
    h.frame(a, { ref: 1, create_group: { name: 'g', members: [b, c] } });
    await h.settle();
    const g = h.log.of('group_info')[0]!.chat.chat_id;
    h.sendGroup(a, g, 'to all');
    await h.settle();
    h.frame(a, { group_change: { chat_id: g, kind: GroupChangeKind.REMOVE, users: [c] } });
    h.sendGroup(a, g, 'after removal'); // the same tick: order of arrival decides
    await h.settle();
    const texts = h.deliveries().filter((d) => d.text === 'to all' || d.text === 'after removal');
    assert.deepEqual(texts.map((d) => [d.text, [...d.users].sort()]), [['to all', [b, c].sort()], ['after removal', [b]]]);
    await h.close();
  });

  test('a member removed while its drain runs still gets the group\'s messages up to its removal, the removal event last, then nothing', async () => {
    const h = await harness({ drain_page_messages_max: 2 });
    const [a, b, c] = [await h.newUser(), await h.newUser(), await h.newUser()];
    for (const u of [a, b, c]) await h.connect(u);
    h.frame(a, { ref: 1, create_group: { name: 'g', members: [b, c] } });
    await h.settle();
    const g = h.log.of('group_info')[0]!.chat.chat_id;
    await h.disconnect(c);
    for (const t of ['m1', 'm2', 'm3', 'm4', 'm5']) h.sendGroup(a, g, t);
    await h.settle();
    h.log.clear();
    await h.connect(c); // first page: the creation event and m1; the drain waits for c's ack
    const first = h.log.of('replay').flatMap((p) => p.msgs);
    assert.equal(first.length, 2);
    h.frame(a, { group_change: { chat_id: g, kind: GroupChangeKind.REMOVE, users: [c] } });
    h.sendGroup(a, g, 'after removal');
    await h.settle();
    h.ack(c, g, first.at(-1)!.id); // a removed member's ack is refused (NOT_A_PARTICIPANT); the drain goes on
    await h.settle();
    for (let i = 0; i < 5 && h.log.of('drain_done').length === 0; i++) await h.settle();
    const texts = h.log.of('replay').flatMap((p) => p.msgs)
      .map((m) => (m.kind === MessageKind.System ? `event ${decodeSystemEvent(m.body).kind}` : Buffer.from(m.body).toString()));
    assert.deepEqual(texts.slice(first.length), ['m2', 'm3', 'm4', 'm5', `event ${GroupChangeKind.REMOVE}`]);
    assert.equal(h.log.of('drain_done').length, 1, 'the drain ends');
    assert.ok(!h.deliveries().some((d) => d.users.includes(c) && d.text === 'after removal'), 'nothing after the removal');
    await h.close();
  });

  test('senders hear one aggregate group receipt once every member has the message', async () => {
    const h = await harness();
    const [a, b, c] = [await h.newUser(), await h.newUser(), await h.newUser()];
    for (const u of [a, b, c]) await h.connect(u);
    h.frame(a, { create_group: { name: 'g', members: [b, c] } });
    await h.settle();
    const g = h.log.of('group_info')[0]!.chat.chat_id;
    h.sendGroup(a, g, 'x');
    await h.settle();
    const id = h.log.of('sent')[0]!.msg.id;
    h.log.clear();
    h.ack(b, g, id);
    await h.settle();
    assert.deepEqual(h.log.of('receipt'), [], 'c does not have it yet');
    h.ack(c, g, id);
    await h.settle();
    const r = h.log.of('receipt');
    assert.deepEqual(r.map((x) => ({ user: x.user, kind: x.kind, upTo: x.upTo, to: x.users })), [{ user: 0, kind: ReceiptKind.DELIVERED, upTo: id, to: [a] }]);
    await h.close();
  });

  test('only watchers hear presence changes, with last-seen from the engine clock', async () => {
    const h = await harness();
    const [a, b, c] = [await h.newUser(), await h.newUser(), await h.newUser()];
    await h.connect(a);
    await h.connect(c);
    h.send(a, b, 'a and b share a chat'); // presence is only for users who share one
    await h.settle();
    h.frame(a, { presence_subscribe: { user_ids: [b] } });
    await h.settle();
    h.log.clear();
    await h.connect(b);
    h.nowMs += 5000;
    await h.disconnect(b);
    const seen = h.log.of('presence').map((p) => ({ to: [...p.to].map((s) => s.user), user: p.user, online: p.online, at: p.lastSeenMs }));
    assert.deepEqual(seen, [
      { to: [a], user: b, online: true, at: h.nowMs - 5000 },
      { to: [a], user: b, online: false, at: h.nowMs },
    ]);
    await h.close();
  });
});

describe('invariants crash instead of corrupting', () => {
  test('a watermark never moves backwards', () => {
    const m = { user: 1, delivered_id: 10, delivered_seq: 5, read_id: 10, joined_seq: 0, admin: false };
    assert.throws(() => advanceDelivered(m, 9, 4), InvariantError);
    assert.throws(() => advanceDelivered(m, 10, 5), InvariantError);
    assert.throws(() => advanceRead(m, 10), InvariantError);
    advanceDelivered(m, 11, 6);
    assert.equal(m.delivered_seq, 6);
  });

  test('ids strictly increase per node even when the clock steps back or a millisecond overflows', () => {
    let now = Date.UTC(2026, 0, 1);
    const ids = new IdGenerator(3, () => now);
    let last = 0;
    for (let i = 0; i < 2000; i++) {
      if (i === 700) now -= 10_000;
      const id = ids.next();
      assert.ok(id > last);
      last = id;
    }
  });
});

describe('chat engine in process: one of several chat nodes (a partition gate)', () => {
  /** A gate that serves every partition under `token`, and records what the store fenced. */
  function gate(token: number) {
    const fenced: number[] = [];
    return { fenced, token: () => token, serves: () => true };
  }

  test('a commit under an old token is refused: nothing stored, nothing told, the send answered UNAVAILABLE, caches reloaded', async () => {
    const g = gate(10);
    const h = await new EngineHarness({}, { serves: g.serves, token: g.token, fenced: (p) => g.fenced.push(p) }).start();
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    await h.connect(b);
    const chatId = directChatId(a, b);
    const p = partitionOf(chatId);
    assert.deepEqual(await h.store.claimPartitions([p], 10), [p]);
    h.send(a, b, 'one', 'c1', 1);
    await h.settle();
    assert.equal(h.log.of('sent').length, 1);
    // Another node claims the partition with a higher token; this node still thinks it owns it.
    await h.store.claimPartitions([p], 11);
    h.log.clear();
    h.send(a, b, 'two', 'c2', 2);
    await h.settle();
    assert.deepEqual(g.fenced, [p], 'the gate hears which partition was fenced');
    assert.equal(h.log.of('sent').length, 0, 'no sent ack');
    assert.equal(h.log.of('message').length, 0, 'no delivery');
    const errors = h.log.of('error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, ErrorCode.UNAVAILABLE);
    assert.equal(errors[0]!.ref, 2);
    assert.equal((await h.store.history(chatId, 0, 10)).length, 1, 'only the first message is stored');
    await h.close();
  });

  test('a frame for a partition this node does not serve is refused with UNAVAILABLE and a close; nothing is stored', async () => {
    const g = gate(10);
    const h = await new EngineHarness({}, { serves: () => false, token: g.token, fenced: () => {} }).start();
    const [a, b] = [await h.newUser(), await h.newUser()];
    await h.connect(a);
    await h.connect(b);
    h.log.clear();
    h.send(a, b, 'x', 'c1', 5);
    await h.settle();
    const errors = h.log.of('error');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, ErrorCode.UNAVAILABLE);
    assert.equal(errors[0]!.close, true, 'the connection is closed so the client resends in order');
    assert.equal(h.engine.stats.framesNotServed, 1);
    assert.equal((await h.store.history(directChatId(a, b), 0, 10)).length, 0);
    await h.close();
  });
});
