// Group chats over real sockets: membership and admin rules, one stored message
// fanned out, ordered system events, per-member and aggregate receipts, offline
// members, and a slow receiver under a group storm.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MessageBody, ReceiptBody } from '../server/common/protocol';
import { GroupChangeKind, ReceiptKind } from '../server/common/protocol';
import type { RunningSystem } from '../deploy/local-system';
import { startSystem } from '../deploy/local-system';
import { bodyText, connectReady, connectUser, provisionFresh, sleep, text, waitFor, type TestClient } from './helpers/system';

const isCode = (code: string) => (e: Error & { code?: string }) => e.code === code;
const messagesOf = (c: TestClient, chatId: string): MessageBody[] =>
  c.frames.filter((f) => f.body === 'message' && f.message.chat_id === chatId).map((f) => (f as { message: MessageBody }).message);

describe('groups', () => {
  let sys: RunningSystem;
  before(async () => {
    sys = await startSystem({ gateways: 2 });
  });
  after(async () => {
    await sys.stop();
  });

  test('the creator is admin; members get the creation event; only members send; one message reaches every member once', async () => {
    const [aId, bId, cId, outsiderId] = await provisionFresh(sys, 4);
    const a = await connectUser(sys, aId);
    const b = await connectUser(sys, bId, {}, 1);
    const c = await connectUser(sys, cId);
    const outsider = await connectUser(sys, outsiderId);
    const info = await a.createGroup('friends', [bId!, cId!]);
    assert.match(info.chat_id, /^g\./);
    assert.equal(info.created_by, aId);
    assert.deepEqual(new Map(info.members.map((m) => [m.user, m.admin])), new Map([[aId, true], [bId, false], [cId, false]]));
    await waitFor(() => messagesOf(b, info.chat_id).length === 1 && messagesOf(c, info.chat_id).length === 1, 5000, 'creation event');
    assert.equal(messagesOf(b, info.chat_id)[0]!.system!.kind, GroupChangeKind.CREATED);

    const sent = await a.sendToChat(info.chat_id, text('hi all'));
    await waitFor(() => messagesOf(b, info.chat_id).length === 2 && messagesOf(c, info.chat_id).length === 2, 5000, 'fan-out');
    for (const m of [messagesOf(b, info.chat_id)[1]!, messagesOf(c, info.chat_id)[1]!]) {
      assert.equal(m.id, sent.id);
      assert.equal(bodyText(m.body), 'hi all');
    }
    assert.equal(messagesOf(a, info.chat_id).length, 0, 'the sender does not get its own message back');
    await assert.rejects(outsider.sendToChat(info.chat_id, text('let me in')), isCode('NOT_A_PARTICIPANT'));
    await assert.rejects(outsider.history(info.chat_id), isCode('NOT_A_PARTICIPANT'));
    const page = await b.history(info.chat_id);
    assert.deepEqual(page.messages.map((m) => m.id), [sent.id, messagesOf(b, info.chat_id)[0]!.id]);
    for (const x of [a, b, c, outsider]) x.close();
  });

  test('admin rules: non-admins cannot add, remove, promote or rename; promoted members can', async () => {
    const [aId, bId, cId, dId] = await provisionFresh(sys, 4);
    const a = await connectUser(sys, aId);
    const b = await connectUser(sys, bId);
    const g = await a.createGroup('rules', [bId!, cId!]);
    await assert.rejects(b.changeGroup(g.chat_id, GroupChangeKind.ADD, [dId!]), isCode('NOT_ADMIN'));
    await assert.rejects(b.changeGroup(g.chat_id, GroupChangeKind.REMOVE, [cId!]), isCode('NOT_ADMIN'));
    await assert.rejects(b.changeGroup(g.chat_id, GroupChangeKind.PROMOTE, [bId!]), isCode('NOT_ADMIN'));
    await assert.rejects(b.changeGroup(g.chat_id, GroupChangeKind.RENAME, [], 'mine'), isCode('NOT_ADMIN'));
    assert.equal((await a.groupInfo(g.chat_id)).members.length, 3, 'nothing changed');
    await a.changeGroup(g.chat_id, GroupChangeKind.PROMOTE, [bId!]);
    const added = await b.changeGroup(g.chat_id, GroupChangeKind.ADD, [dId!]);
    assert.ok(added.members.some((m) => m.user === dId));
    const renamed = await b.changeGroup(g.chat_id, GroupChangeKind.RENAME, [], 'renamed');
    assert.equal(renamed.name, 'renamed');
    await assert.rejects(a.changeGroup(g.chat_id, GroupChangeKind.ADD, [9_999_999_999]), isCode('UNKNOWN_USER'));
    a.close();
    b.close();
  });

  test('a 257th member is refused with GROUP_FULL, both at creation and when adding', async () => {
    const ids = await provisionFresh(sys, 258);
    const a = await connectUser(sys, ids[0]);
    await assert.rejects(a.createGroup('too big', ids.slice(1, 257)), isCode('GROUP_FULL'));
    const g = await a.createGroup('full', ids.slice(1, 256));
    assert.equal(g.members.length, 256);
    await assert.rejects(a.changeGroup(g.chat_id, GroupChangeKind.ADD, [ids[256]!]), isCode('GROUP_FULL'));
    assert.equal((await a.groupInfo(g.chat_id)).members.length, 256);
    a.close();
  });

  test('a member removed mid-stream receives nothing sent after the removal; system events arrive in order', async () => {
    const [aId, bId, cId] = await provisionFresh(sys, 3);
    // Ready (drained) first, so every message below is live (a removal during a drain is the engine
    // test's: test/chat-engine.test.ts).
    const a = await connectReady(sys, aId);
    const b = await connectReady(sys, bId);
    const c = await connectReady(sys, cId);
    const g = await a.createGroup('stream', [bId!, cId!]);
    // Send, remove and send again without waiting: they are processed in arrival order.
    const before = a.sendToChat(g.chat_id, text('before'));
    const removal = a.changeGroup(g.chat_id, GroupChangeKind.REMOVE, [bId!]);
    const afterIt = a.sendToChat(g.chat_id, text('after'));
    await Promise.all([before, removal, afterIt]);
    await waitFor(() => messagesOf(c, g.chat_id).length === 4, 5000, 'c sees everything');
    await sleep(200);
    const seenByB = messagesOf(b, g.chat_id).map((m) => (m.system ? `system:${m.system.kind}` : bodyText(m.body)));
    assert.deepEqual(seenByB, [`system:${GroupChangeKind.CREATED}`, 'before', `system:${GroupChangeKind.REMOVE}`]);
    const seenByC = messagesOf(c, g.chat_id).map((m) => (m.system ? `system:${m.system.kind}` : bodyText(m.body)));
    assert.deepEqual(seenByC, [`system:${GroupChangeKind.CREATED}`, 'before', `system:${GroupChangeKind.REMOVE}`, 'after']);
    assert.deepEqual(messagesOf(c, g.chat_id).map((m) => m.seq), [1, 2, 3, 4]);
    await assert.rejects(b.sendToChat(g.chat_id, text('still here?')), isCode('NOT_A_PARTICIPANT'));
    for (const x of [a, b, c]) x.close();
  });

  test('a member added later does not see earlier history; leaving hands admin to the longest-standing member', async () => {
    const [aId, bId, cId] = await provisionFresh(sys, 3);
    const a = await connectUser(sys, aId);
    const g = await a.createGroup('late', [bId!]);
    await a.sendToChat(g.chat_id, text('old news'));
    await a.changeGroup(g.chat_id, GroupChangeKind.ADD, [cId!]);
    const fresh = await a.sendToChat(g.chat_id, text('new news'));
    const c = await connectUser(sys, cId);
    await waitFor(() => c.frames.some((f) => f.body === 'drain_done'), 5000, 'c drained');
    const bodies = messagesOf(c, g.chat_id).map((m) => (m.system ? `system:${m.system.kind}` : bodyText(m.body)));
    assert.deepEqual(bodies, [`system:${GroupChangeKind.ADD}`, 'new news']);
    const page = await c.history(g.chat_id);
    assert.deepEqual(page.messages.map((m) => (m.system ? 'system' : bodyText(m.body))), ['new news', 'system']);
    assert.equal(page.messages[0]!.id, fresh.id);
    await a.changeGroup(g.chat_id, GroupChangeKind.LEAVE);
    const info = await c.groupInfo(g.chat_id);
    assert.deepEqual(info.members.filter((m) => m.admin).map((m) => m.user), [bId]);
    a.close();
    c.close();
  });

  test('after all 255 other members ack and read, the sender gets the aggregate delivered, then read', async () => {
    const ids = await provisionFresh(sys, 256);
    const sender = await connectUser(sys, ids[0]);
    const members: TestClient[] = [];
    // Members that never ack on their own: wait until each has drained, so no drain holds their deliveries.
    for (let i = 1; i < 256; i++) members.push(await connectReady(sys, ids[i], { ackDelayMs: null }, i % 2));
    const g = await sender.createGroup('receipts', ids.slice(1));
    const sent = await sender.sendToChat(g.chat_id, text('read me'));
    await waitFor(() => members.every((m) => messagesOf(m, g.chat_id).some((x) => x.id === sent.id)), 15_000, 'everyone has it');
    const aggregates = () => sender.frames.filter((f) => f.body === 'receipt' && f.receipt.chat_id === g.chat_id)
      .map((f) => (f as { receipt: ReceiptBody }).receipt);
    // All but one acknowledge delivery: no aggregate yet.
    for (const m of members.slice(1)) m.ack(g.chat_id, sent.id);
    await sleep(300);
    assert.equal(aggregates().filter((r) => r.kind === ReceiptKind.DELIVERED && r.up_to_id >= sent.id).length, 0);
    members[0]!.ack(g.chat_id, sent.id);
    await waitFor(() => aggregates().some((r) => r.kind === ReceiptKind.DELIVERED && r.up_to_id === sent.id), 5000, 'aggregate delivered');
    for (const m of members) m.ack(g.chat_id, sent.id, sent.id);
    await waitFor(() => aggregates().some((r) => r.kind === ReceiptKind.READ && r.up_to_id === sent.id), 5000, 'aggregate read');
    const kinds = aggregates().filter((r) => r.up_to_id >= sent.id).map((r) => r.kind);
    assert.deepEqual(kinds, [ReceiptKind.DELIVERED, ReceiptKind.READ]);
    assert.ok(aggregates().every((r) => r.user === 0), 'aggregate receipts, not one per member');
    const info = await sender.messageInfo(g.chat_id, sent.id);
    assert.equal(info.delivered_to.length, 255);
    assert.equal(info.read_by.length, 255);
    sender.close();
    for (const m of members) m.close();
  });

  test('a 256-member group with members offline: online ones get messages live, offline ones in order after reconnect, no duplicates', async () => {
    const ids = await provisionFresh(sys, 256);
    const sender = await connectUser(sys, ids[0]);
    const online: TestClient[] = [];
    for (let i = 1; i < 200; i++) online.push(await connectReady(sys, ids[i], {}, i % 2));
    const offlineIds = ids.slice(200);
    const g = await sender.createGroup('mixed', ids.slice(1));
    const sent: number[] = [];
    for (let i = 0; i < 20; i++) sent.push((await sender.sendToChat(g.chat_id, text(`m${i}`))).id);
    await waitFor(() => online.every((m) => messagesOf(m, g.chat_id).length === 21), 15_000, 'online members live');
    for (const m of online) {
      const got = messagesOf(m, g.chat_id);
      assert.deepEqual(got.slice(1).map((x) => x.id), sent);
      assert.ok(got.slice(1).every((x) => !x.replay), 'live, not replayed');
      assert.equal(m.duplicates, 0);
    }
    const late: TestClient[] = [];
    for (const id of offlineIds) late.push(await connectUser(sys, id));
    await waitFor(() => late.every((m) => m.frames.some((f) => f.body === 'drain_done')), 15_000, 'offline members drained');
    for (const m of late) {
      const got = messagesOf(m, g.chat_id);
      assert.equal(got.length, 21);
      assert.deepEqual(got.slice(1).map((x) => x.id), sent);
      assert.deepEqual(got.map((x) => x.seq), Array.from({ length: 21 }, (_, i) => i + 1));
      assert.equal(m.duplicates, 0);
    }
    sender.close();
    for (const m of [...online, ...late]) m.close();
  });
});

describe('group storm backpressure', () => {
  test('a slow receiver is disconnected at the backpressure limit and later resyncs with no message lost', async () => {
    const sys = await startSystem({ env: { WA_SOCKET_BACKPRESSURE_BYTES_MAX: String(256 * 1024) } });
    try {
      const ids = await provisionFresh(sys, 8);
      const sender = await connectUser(sys, ids[0]);
      const fast = await connectUser(sys, ids[1]);
      const slow = await connectUser(sys, ids[2]);
      const g = await sender.createGroup('storm', ids.slice(1));
      await waitFor(() => messagesOf(slow, g.chat_id).length === 1, 5000, 'slow got the creation event');
      slow.pauseReading();
      const closed = slow.closedPromise();
      const payload = Buffer.alloc(4000, 0x41);
      const n = 1500; // 6 MB to a receiver that reads nothing: far past 256 KiB of socket buffer plus kernel buffers
      const acks = [];
      for (let i = 0; i < n; i++) {
        acks.push(sender.sendToChat(g.chat_id, payload));
        if (i % 100 === 99) await Promise.all(acks.splice(0));
      }
      await Promise.all(acks);
      await waitFor(() => messagesOf(fast, g.chat_id).length === n + 1, 20_000, 'fast receiver got everything');
      slow.resumeReading();
      // The close frame (4008) is sometimes lost with the connection (the client then sees 1006, about 1 run in
      // 5 on this box); the gateway's own count says why it closed it.
      assert.ok([4008, 1006].includes(await closed), 'closed');
      assert.ok(((await sys.health(0)) as unknown as { backpressure_closes: number }).backpressure_closes >= 1, 'closed for backpressure');
      const back = await connectUser(sys, ids[2]);
      await waitFor(() => back.frames.some((f) => f.body === 'drain_done'), 30_000, 'resync');
      const have = new Set([...messagesOf(slow, g.chat_id), ...messagesOf(back, g.chat_id)].map((m) => m.seq));
      assert.equal(have.size, n + 1, 'every message reached the slow member across both connections');
      const h = await sys.health(0);
      assert.ok(h.connections <= 3);
      sender.close();
      fast.close();
      back.close();
    } finally {
      await sys.stop();
    }
  });
});
