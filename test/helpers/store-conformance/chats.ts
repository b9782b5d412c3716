// Store conformance, part: chats and messages, watermarks, idempotent retries (findByClientIds).
// The tests of one part run in order, sharing the store of test/helpers/store-conformance/index.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directChatId } from '../../../server/common/chat-id';
import { ChatKind, MessageKind, clientKey, emptyBatch, type StoredMessage } from '../../../server/store/store';
import { batch, plainMembers, plainMessage, type ConformanceContext } from './world';

export function chatsConformance(c: ConformanceContext): void {
  // ------------------------------------------------------------------ chats and messages

  test('loadChat returns null for a chat that was never created', async () => {
    assert.equal(await c.store.loadChat(directChatId(c.w.user(), c.w.user())), null);
    assert.equal(await c.store.loadChat(c.w.groupId()), null);
  });

  test('a new 1:1 chat reads back with its members and their watermarks, and an empty head', async () => {
    const a = c.w.user();
    const b = c.w.user();
    const chat = c.w.direct(a, b);
    await c.store.commit(batch({ new_chats: [chat] }));
    const loaded = await c.store.loadChat(chat.chat_id);
    assert.ok(loaded);
    assert.equal(loaded.chat_id, chat.chat_id);
    assert.equal(loaded.kind, ChatKind.Direct);
    assert.equal(loaded.last_id, 0);
    assert.equal(loaded.last_seq, 0);
    assert.equal(loaded.name, '');
    assert.equal(loaded.created_by, 0);
    assert.deepEqual(plainMembers(loaded), plainMembers(chat));
  });

  test('a new group reads back with its name, creator, admins and every member', async () => {
    const creator = c.w.user();
    const others = [c.w.user(), c.w.user(), c.w.user()];
    const chat = c.w.group(creator, others, 'Ünïcode group 🚀');
    await c.store.commit(batch({ new_chats: [chat] }));
    const loaded = await c.store.loadChat(chat.chat_id);
    assert.ok(loaded);
    assert.equal(loaded.kind, ChatKind.Group);
    assert.equal(loaded.name, 'Ünïcode group 🚀');
    assert.equal(loaded.created_by, creator);
    assert.deepEqual(plainMembers(loaded), plainMembers(chat));
    assert.equal(loaded.members.get(creator)?.admin, true);
    assert.equal(loaded.members.get(others[0]!)?.admin, false);
  });

  test('a chat and its first messages commit together; its head is the newest message', async () => {
    const a = c.w.user();
    const b = c.w.user();
    const chat = c.w.direct(a, b);
    const msgs = await c.chatWithMessages(chat, a, 3);
    let loaded = await c.store.loadChat(chat.chat_id);
    assert.equal(loaded?.last_id, msgs[2]!.id);
    assert.equal(loaded?.last_seq, 3);
    // Later commits move the head.
    const more = [c.w.message(chat, b, 'four'), c.w.message(chat, a, 'five')];
    await c.store.commit(batch({ messages: more }));
    loaded = await c.store.loadChat(chat.chat_id);
    assert.equal(loaded?.last_id, more[1]!.id);
    assert.equal(loaded?.last_seq, 5);
  });

  test('a message reads back exactly as committed: binary body, unicode client id, kind, timestamps', async () => {
    const a = c.w.user();
    const chat = c.w.group(a, [c.w.user()]);
    await c.store.commit(batch({ new_chats: [chat] }));
    const body = new Uint8Array(300);
    for (let i = 0; i < body.length; i++) body[i] = (i * 37) & 0xff; // includes 0x00 and 0xff
    const user = c.w.message(chat, a, '', { body, client_msg_id: `ü-${c.w.user()}-😀`, sent_at_ms: 1_765_432_109_876 });
    const system = c.w.message(chat, a, '', { body: new Uint8Array([1, 0, 2]), kind: MessageKind.System });
    const empty = c.w.message(chat, a, '', { body: new Uint8Array(0) });
    await c.store.commit(batch({ messages: [user, system, empty] }));
    const page = await c.store.history(chat.chat_id, 0, 10);
    assert.deepEqual(page.map(plainMessage), [empty, system, user].map(plainMessage));
  });

  test('one commit can carry messages of several chats; each chat keeps only its own', async () => {
    const a = c.w.user();
    const c1 = c.w.direct(a, c.w.user());
    const c2 = c.w.direct(a, c.w.user());
    const g = c.w.group(a, [c.w.user()]);
    const m = [c.w.message(c1, a, 'x1'), c.w.message(c2, a, 'y1'), c.w.message(g, a, 'z1'), c.w.message(c1, a, 'x2'), c.w.message(c2, a, 'y2')];
    await c.store.commit(batch({ new_chats: [c1, c2, g], messages: m }));
    assert.deepEqual((await c.store.history(c1.chat_id, 0, 10)).map((x) => x.id), [m[3]!.id, m[0]!.id]);
    assert.deepEqual((await c.store.history(c2.chat_id, 0, 10)).map((x) => x.id), [m[4]!.id, m[1]!.id]);
    assert.deepEqual((await c.store.history(g.chat_id, 0, 10)).map((x) => x.id), [m[2]!.id]);
    for (const chat of [c1, c2, g]) assert.equal((await c.store.loadChat(chat.chat_id))?.last_id, chat.last_id);
  });

  test('an empty commit changes nothing', async () => {
    const before = await c.store.maxMessageId();
    await c.store.commit(emptyBatch());
    assert.equal(await c.store.maxMessageId(), before);
  });

  // ------------------------------------------------------------------ watermarks

  test('a watermark moves forward with a commit', async () => {
    const a = c.w.user();
    const b = c.w.user();
    const chat = c.w.direct(a, b);
    const msgs = await c.chatWithMessages(chat, a, 3);
    await c.store.commit(batch({
      watermarks: [{ chat_id: chat.chat_id, user: b, delivered_id: msgs[2]!.id, delivered_seq: 3, read_id: msgs[1]!.id }],
    }));
    const m = (await c.store.loadChat(chat.chat_id))?.members.get(b);
    assert.deepEqual(m, { user: b, delivered_id: msgs[2]!.id, delivered_seq: 3, read_id: msgs[1]!.id, joined_seq: 0, admin: false });
    assert.deepEqual((await c.store.loadChat(chat.chat_id))?.members.get(a), c.w.member(a), "the other member's watermark did not move");
  });

  test('a watermark never moves backwards: each of delivered_id, delivered_seq and read_id keeps its maximum', async () => {
    const a = c.w.user();
    const b = c.w.user();
    const chat = c.w.direct(a, b);
    const msgs = await c.chatWithMessages(chat, a, 4);
    const wm = (delivered: number, read: number) => ({
      chat_id: chat.chat_id, user: b, delivered_id: msgs[delivered - 1]!.id, delivered_seq: delivered, read_id: read ? msgs[read - 1]!.id : 0,
    });
    await c.store.commit(batch({ watermarks: [wm(3, 2)] }));
    await c.store.commit(batch({ watermarks: [wm(1, 1)] })); // a late, stale ack
    let m = (await c.store.loadChat(chat.chat_id))?.members.get(b);
    assert.equal(m?.delivered_id, msgs[2]!.id);
    assert.equal(m?.delivered_seq, 3);
    assert.equal(m?.read_id, msgs[1]!.id);
    // Delivered behind, read ahead: read moves, delivered stays.
    await c.store.commit(batch({ watermarks: [wm(2, 3)] }));
    m = (await c.store.loadChat(chat.chat_id))?.members.get(b);
    assert.equal(m?.delivered_id, msgs[2]!.id);
    assert.equal(m?.delivered_seq, 3);
    assert.equal(m?.read_id, msgs[2]!.id);
    // Two moves of one member in one commit, the higher first: the higher wins.
    await c.store.commit(batch({ watermarks: [wm(4, 4), wm(3, 3)] }));
    m = (await c.store.loadChat(chat.chat_id))?.members.get(b);
    assert.equal(m?.delivered_id, msgs[3]!.id);
    assert.equal(m?.delivered_seq, 4);
    assert.equal(m?.read_id, msgs[3]!.id);
  });

  test('messages and the watermarks they move commit together (the sender catches up with its own message)', async () => {
    const a = c.w.user();
    const b = c.w.user();
    const chat = c.w.direct(a, b);
    await c.store.commit(batch({ new_chats: [chat] }));
    const m = c.w.message(chat, a, 'hi');
    await c.store.commit(batch({
      messages: [m], watermarks: [{ chat_id: chat.chat_id, user: a, delivered_id: m.id, delivered_seq: 1, read_id: m.id }],
    }));
    const loaded = await c.store.loadChat(chat.chat_id);
    assert.equal(loaded?.members.get(a)?.delivered_id, m.id);
    assert.equal(loaded?.members.get(b)?.delivered_id, 0);
    assert.equal(loaded?.last_id, m.id);
  });

  // ------------------------------------------------------------------ idempotent retries

  test('findByClientIds returns exactly the stored messages for those (sender, client id) pairs, keyed by clientKey()', async () => {
    const a = c.w.user();
    const b = c.w.user();
    const chat = c.w.direct(a, b);
    await c.store.commit(batch({ new_chats: [chat] }));
    const m1 = c.w.message(chat, a, 'one', { client_msg_id: 'retry-1' });
    const m2 = c.w.message(chat, a, 'two', { client_msg_id: 'retry-2' });
    const m3 = c.w.message(chat, b, 'three', { client_msg_id: 'retry-1' }); // same client id, other sender
    await c.store.commit(batch({ messages: [m1, m2, m3] }));
    const found = await c.store.findByClientIds([
      { sender: a, client_msg_id: 'retry-1' },
      { sender: b, client_msg_id: 'retry-1' },
      { sender: a, client_msg_id: 'never-sent' },
      { sender: b, client_msg_id: 'retry-2' }, // a's client id, b never used it
      { sender: c.w.user(), client_msg_id: 'retry-1' },
    ]);
    assert.deepEqual([...found.keys()].sort(), [clientKey(a, 'retry-1'), clientKey(b, 'retry-1')].sort());
    assert.deepEqual(plainMessage(found.get(clientKey(a, 'retry-1'))!), plainMessage(m1));
    assert.deepEqual(plainMessage(found.get(clientKey(b, 'retry-1'))!), plainMessage(m3));
    assert.equal((await c.store.findByClientIds([])).size, 0);
  });

  test('findByClientIds answers a large batch of keys across several chats in one call', async () => {
    const a = c.w.user();
    const chats = [c.w.direct(a, c.w.user()), c.w.direct(a, c.w.user()), c.w.group(a, [c.w.user()])];
    const msgs: StoredMessage[] = [];
    for (let i = 0; i < 150; i++) msgs.push(c.w.message(chats[i % 3]!, a, `m${i}`));
    await c.store.commit(batch({ new_chats: chats, messages: msgs }));
    const keys = msgs.map((m) => ({ sender: a, client_msg_id: m.client_msg_id }));
    for (let i = 0; i < 50; i++) keys.push({ sender: a, client_msg_id: `missing-${i}` });
    const found = await c.store.findByClientIds(keys);
    assert.equal(found.size, 150);
    for (const m of msgs) assert.deepEqual(plainMessage(found.get(clientKey(a, m.client_msg_id))!), plainMessage(m));
  });
}
