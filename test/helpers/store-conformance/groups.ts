// Store conformance, part: groups (membership changes, renames) and restart (maxMessageId, durability across reopen).
// The tests of one part run in order, sharing the store of test/helpers/store-conformance/index.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdGenerator } from '../../../server/common/ids';
import { MessageKind, clientKey } from '../../../server/store/store';
import { batch, plainMembers, plainMessage, type ConformanceContext } from './world';

export function groupsConformance(c: ConformanceContext): void {
  // ------------------------------------------------------------------ groups

  test('member changes add a member with its join point, change admin flags and remove members', async () => {
    const creator = c.w.user();
    const bob = c.w.user();
    const chat = c.w.group(creator, [bob]);
    const msgs = await c.chatWithMessages(chat, creator, 3);
    const carol = c.w.user();
    const joined = c.w.member(carol, { delivered_id: msgs[2]!.id, delivered_seq: 3, read_id: msgs[2]!.id, joined_seq: 3 });
    await c.store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, member: joined }] }));
    let loaded = await c.store.loadChat(chat.chat_id);
    assert.deepEqual(loaded?.members.get(carol), joined);
    assert.equal(loaded?.members.size, 3);

    await c.store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, member: { ...joined, admin: true } }] }));
    loaded = await c.store.loadChat(chat.chat_id);
    assert.equal(loaded?.members.get(carol)?.admin, true, 'promoted');

    await c.store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, remove: bob }] }));
    loaded = await c.store.loadChat(chat.chat_id);
    assert.equal(loaded?.members.has(bob), false, 'removed');
    assert.deepEqual([...loaded!.members.keys()].sort((a, b) => a - b), [creator, carol].sort((a, b) => a - b));
    assert.equal((await c.store.pendingChats(bob)).length, 0, 'a removed member has nothing pending in the group');
  });

  test('sharedChatKinds says whether two users share a 1:1 chat, a group, both or neither; a removed member shares no more', async () => {
    const [a, b, g, x] = [c.w.user(), c.w.user(), c.w.user(), c.w.user()];
    const direct = c.w.direct(a, b);
    const group = c.w.group(a, [g]);
    await c.store.commit(batch({ new_chats: [direct, group] }));
    assert.deepEqual(await c.store.sharedChatKinds(a, b), { direct: true, group: false });
    assert.deepEqual(await c.store.sharedChatKinds(g, a), { direct: false, group: true });
    assert.deepEqual(await c.store.sharedChatKinds(a, x), { direct: false, group: false });
    assert.deepEqual(await c.store.sharedChatKinds(b, g), { direct: false, group: false });
    await c.store.commit(batch({ member_changes: [{ chat_id: group.chat_id, remove: g }] }));
    assert.deepEqual(await c.store.sharedChatKinds(a, g), { direct: false, group: false });
  });

  test("a member change never moves that member's watermarks backwards", async () => {
    const creator = c.w.user();
    const bob = c.w.user();
    const chat = c.w.group(creator, [bob]);
    const msgs = await c.chatWithMessages(chat, creator, 3);
    await c.store.commit(batch({ watermarks: [{ chat_id: chat.chat_id, user: bob, delivered_id: msgs[2]!.id, delivered_seq: 3, read_id: msgs[2]!.id }] }));
    // A promotion carrying an older snapshot of bob's state.
    await c.store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, member: c.w.member(bob, { admin: true }) }] }));
    const m = (await c.store.loadChat(chat.chat_id))?.members.get(bob);
    assert.equal(m?.admin, true);
    assert.equal(m?.delivered_id, msgs[2]!.id);
    assert.equal(m?.delivered_seq, 3);
    assert.equal(m?.read_id, msgs[2]!.id);
  });

  test('a member removed and added again starts from the new join point', async () => {
    const creator = c.w.user();
    const bob = c.w.user();
    const chat = c.w.group(creator, [bob]);
    await c.chatWithMessages(chat, creator, 2);
    await c.store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, remove: bob }] }));
    const later = c.w.messages(chat, creator, 2);
    await c.store.commit(batch({ messages: later }));
    const back = c.w.member(bob, { delivered_id: later[1]!.id, delivered_seq: 4, read_id: later[1]!.id, joined_seq: 4 });
    await c.store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, member: back }] }));
    assert.deepEqual((await c.store.loadChat(chat.chat_id))?.members.get(bob), back);
    assert.deepEqual(await c.store.pendingChats(bob), [], 'nothing from before the rejoin is pending');
  });

  test('a watermark for someone who is not (or no longer) a member does not make them one', async () => {
    const creator = c.w.user();
    const bob = c.w.user();
    const stranger = c.w.user();
    const chat = c.w.group(creator, [bob]);
    const msgs = await c.chatWithMessages(chat, creator, 2);
    const wm = (user: number) => ({ chat_id: chat.chat_id, user, delivered_id: msgs[1]!.id, delivered_seq: 2, read_id: msgs[1]!.id });
    // Removed and acked in the same commit (an ack that raced the removal), then acked again later.
    await c.store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, remove: bob }], watermarks: [wm(bob), wm(stranger)] }));
    await c.store.commit(batch({ watermarks: [wm(bob), wm(stranger)] }));
    const loaded = await c.store.loadChat(chat.chat_id);
    assert.deepEqual([...loaded!.members.keys()], [creator]);
    assert.deepEqual(await c.store.pendingChats(bob), []);
    assert.deepEqual(await c.store.pendingChats(stranger), []);
  });

  test('membership changes in one commit apply in order', async () => {
    const creator = c.w.user();
    const bob = c.w.user();
    const carol = c.w.user();
    const chat = c.w.group(creator, [bob]);
    await c.store.commit(batch({ new_chats: [chat] }));
    await c.store.commit(batch({
      member_changes: [
        { chat_id: chat.chat_id, member: c.w.member(carol) },
        { chat_id: chat.chat_id, remove: carol }, // added, then removed: out
        { chat_id: chat.chat_id, remove: bob },
        { chat_id: chat.chat_id, member: c.w.member(bob, { admin: true }) }, // removed, then added back as admin: in
      ],
    }));
    const loaded = await c.store.loadChat(chat.chat_id);
    assert.equal(loaded?.members.has(carol), false);
    assert.equal(loaded?.members.get(bob)?.admin, true);
  });

  test('a group created and changed in the same commit', async () => {
    const creator = c.w.user();
    const late = c.w.user();
    const chat = c.w.group(creator, [c.w.user()], 'before');
    const created = c.w.message(chat, creator, '', { kind: MessageKind.System });
    await c.store.commit(batch({
      new_chats: [chat],
      messages: [created],
      member_changes: [{ chat_id: chat.chat_id, member: c.w.member(late, { joined_seq: 1, delivered_seq: 1, delivered_id: created.id }) }],
      chat_renames: [{ chat_id: chat.chat_id, name: 'after' }],
    }));
    const loaded = await c.store.loadChat(chat.chat_id);
    assert.equal(loaded?.name, 'after');
    assert.equal(loaded?.members.size, 3);
    assert.equal(loaded?.members.get(late)?.joined_seq, 1);
    assert.equal(loaded?.last_seq, 1);
  });

  test('renaming a group changes its name and nothing else', async () => {
    const creator = c.w.user();
    const chat = c.w.group(creator, [c.w.user()], 'old name');
    await c.chatWithMessages(chat, creator, 2);
    await c.store.commit(batch({ chat_renames: [{ chat_id: chat.chat_id, name: 'new name' }] }));
    const loaded = await c.store.loadChat(chat.chat_id);
    assert.equal(loaded?.name, 'new name');
    assert.equal(loaded?.created_by, creator);
    assert.equal(loaded?.last_seq, 2);
    assert.equal(loaded?.members.size, 2);
  });

  // ------------------------------------------------------------------ restart

  test('maxMessageId is the highest message id ever committed', async () => {
    const a = c.w.user();
    const c1 = c.w.direct(a, c.w.user());
    const c2 = c.w.direct(a, c.w.user());
    const m1 = c.w.messages(c1, a, 3);
    const m2 = c.w.messages(c2, a, 2);
    // Out of id order inside the commit, and across chats.
    await c.store.commit(batch({ new_chats: [c1, c2], messages: [...m2, ...m1] }));
    assert.equal(await c.store.maxMessageId(), m2[1]!.id);
    // Ids minted later by another generator (another chat-service node) but committed in any order.
    const older = c.w.message(c1, a, 'from a slower node');
    const newest = c.w.message(c2, a, 'newest');
    await c.store.commit(batch({ messages: [newest] }));
    await c.store.commit(batch({ messages: [older] }));
    assert.equal(await c.store.maxMessageId(), newest.id);
    // An id generator advanced past it never mints an id at or below it.
    const next = new IdGenerator(3, () => 0);
    next.advancePast(await c.store.maxMessageId());
    assert.ok(next.next() > newest.id);
  });

  test('everything committed survives closing and reopening the store', async (t) => {
    if (!c.h.reopen) {
      t.skip('this store keeps nothing across restarts');
      return;
    }
    const phone = c.w.phone();
    const reg = await c.store.registerUser(phone, 'Durable', 1000);
    const creator = c.w.user();
    const bob = c.w.user();
    await c.store.ensureUser(creator, 1000);
    const chat = c.w.group(creator, [bob], 'kept');
    const msgs = await c.chatWithMessages(chat, creator, 4);
    await c.store.commit(batch({
      watermarks: [{ chat_id: chat.chat_id, user: bob, delivered_id: msgs[1]!.id, delivered_seq: 2, read_id: msgs[0]!.id }],
      last_seen: [{ user: creator, last_seen_ms: 1_700_000_123_000 }],
    }));
    const chatBefore = await c.store.loadChat(chat.chat_id);
    const maxBefore = await c.store.maxMessageId();

    await c.store.close();
    c.store = await c.h.reopen();

    assert.equal(await c.store.maxMessageId(), maxBefore);
    const chatAfter = await c.store.loadChat(chat.chat_id);
    assert.ok(chatAfter && chatBefore);
    assert.deepEqual({ ...chatAfter, members: plainMembers(chatAfter) }, { ...chatBefore, members: plainMembers(chatBefore) });
    assert.deepEqual((await c.store.history(chat.chat_id, 0, 10)).map(plainMessage), [...msgs].reverse().map(plainMessage));
    assert.deepEqual(await c.store.registerUser(phone, 'Durable', 2000), { id: reg.id, created: false });
    assert.equal((await c.store.getUser(creator))?.last_seen_ms, 1_700_000_123_000);
    const found = await c.store.findByClientIds([{ sender: creator, client_msg_id: msgs[3]!.client_msg_id }]);
    assert.equal(found.get(clientKey(creator, msgs[3]!.client_msg_id))?.id, msgs[3]!.id);
    assert.deepEqual(await c.pendingOf(bob), [{ chat_id: chat.chat_id, delivered_id: msgs[1]!.id, pending: 2 }]);
    // Still writable after the restart, and ids keep going up.
    const next = c.w.message(chat, creator, 'after restart');
    await c.store.commit(batch({ messages: [next] }));
    assert.equal((await c.store.loadChat(chat.chat_id))?.last_seq, 5);
  });
}
