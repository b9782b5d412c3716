// Store conformance, part: reading a chat (history, messagesAfter, headAtOrBelow) and offline queues (pendingChats).
// The tests of one part run in order, sharing the store of test/helpers/store-conformance/index.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directChatId } from '../../../server/common/chat-id';
import { type ChatState } from '../../../server/store/store';
import { batch, plainMessage, type ConformanceContext } from './world';

export function readsConformance(c: ConformanceContext): void {
  // ------------------------------------------------------------------ reading a chat

  test('history pages newest first with a before_id cursor and a limit', async () => {
    const a = c.w.user();
    const b = c.w.user();
    const chat = c.w.direct(a, b);
    const msgs = await c.chatWithMessages(chat, a, 25, true);
    const seen: number[] = [];
    let cursor = 0;
    const pages: number[] = [];
    for (;;) {
      const page = await c.store.history(chat.chat_id, cursor, 10);
      if (page.length === 0) break;
      pages.push(page.length);
      for (let i = 1; i < page.length; i++) assert.ok(page[i - 1]!.id > page[i]!.id, 'newest first within a page');
      if (cursor > 0) assert.ok(page.every((m) => m.id < cursor), 'only ids below the cursor');
      seen.push(...page.map((m) => m.id));
      cursor = page[page.length - 1]!.id;
      assert.ok(pages.length <= 4, 'paging ends');
    }
    assert.deepEqual(pages, [10, 10, 5]);
    assert.deepEqual(seen, msgs.map((m) => m.id).reverse());
    assert.deepEqual((await c.store.history(chat.chat_id, 0, 100)).map((m) => m.seq), msgs.map((m) => m.seq).reverse());
    // A cursor that is not a message id: everything strictly below it.
    assert.deepEqual((await c.store.history(chat.chat_id, msgs[4]!.id - 1, 10)).map((m) => m.seq), [4, 3, 2, 1]);
    assert.deepEqual(await c.store.history(chat.chat_id, msgs[0]!.id, 10), [], 'nothing below the first message');
  });

  test('history of an unknown or empty chat is empty', async () => {
    assert.deepEqual(await c.store.history(directChatId(c.w.user(), c.w.user()), 0, 10), []);
    const chat = c.w.direct(c.w.user(), c.w.user());
    await c.store.commit(batch({ new_chats: [chat] }));
    assert.deepEqual(await c.store.history(chat.chat_id, 0, 10), []);
  });

  test('messagesAfter returns the messages after an id, oldest first, at most limit', async () => {
    const a = c.w.user();
    const chat = c.w.direct(a, c.w.user());
    const msgs = await c.chatWithMessages(chat, a, 12, true);
    const ids = msgs.map((m) => m.id);
    assert.deepEqual((await c.store.messagesAfter(chat.chat_id, 0, 5)).map((m) => m.id), ids.slice(0, 5));
    assert.deepEqual((await c.store.messagesAfter(chat.chat_id, ids[4]!, 5)).map((m) => m.id), ids.slice(5, 10));
    assert.deepEqual((await c.store.messagesAfter(chat.chat_id, ids[9]!, 5)).map((m) => m.id), ids.slice(10));
    assert.deepEqual(await c.store.messagesAfter(chat.chat_id, ids[11]!, 5), []);
    // An id between two messages (e.g. a TTL floor) is a valid starting point.
    assert.deepEqual((await c.store.messagesAfter(chat.chat_id, ids[6]! + 1, 100)).map((m) => m.seq), [8, 9, 10, 11, 12]);
    const full = await c.store.messagesAfter(chat.chat_id, ids[10]!, 10);
    assert.deepEqual(full.map(plainMessage), [plainMessage(msgs[11]!)], 'whole messages, not just ids');
    assert.deepEqual(await c.store.messagesAfter(directChatId(c.w.user(), c.w.user()), 0, 10), []);
  });

  test('headAtOrBelow finds the newest message at or below an id', async () => {
    const a = c.w.user();
    const chat = c.w.direct(a, c.w.user());
    const msgs = await c.chatWithMessages(chat, a, 5, true);
    assert.deepEqual(await c.store.headAtOrBelow(chat.chat_id, msgs[2]!.id), { id: msgs[2]!.id, seq: 3 }, 'an exact id');
    assert.deepEqual(await c.store.headAtOrBelow(chat.chat_id, msgs[3]!.id - 1), { id: msgs[2]!.id, seq: 3 }, 'between two messages');
    assert.deepEqual(await c.store.headAtOrBelow(chat.chat_id, Number.MAX_SAFE_INTEGER), { id: msgs[4]!.id, seq: 5 }, 'above all');
    assert.equal(await c.store.headAtOrBelow(chat.chat_id, msgs[0]!.id - 1), null, 'below the first message');
    assert.equal(await c.store.headAtOrBelow(directChatId(c.w.user(), c.w.user()), Number.MAX_SAFE_INTEGER), null, 'unknown chat');
  });

  // ------------------------------------------------------------------ offline queues

  test("pendingChats lists only chats with messages above the user's delivered watermark, with the pending count", async () => {
    const me = c.w.user();
    const behind = c.w.direct(me, c.w.user()); // 5 messages, delivered up to 2: 3 pending
    const caughtUp = c.w.direct(me, c.w.user()); // 2 messages, all delivered
    const silent = c.w.direct(me, c.w.user()); // no messages
    const group = c.w.group(c.w.user(), [me, c.w.user()]); // 4 messages, none delivered
    const notMine = c.w.direct(c.w.user(), c.w.user()); // messages, but I am not in it
    const peerOf = (chat: ChatState) => [...chat.members.keys()].find((u) => u !== me)!;
    const mb = c.w.messages(behind, peerOf(behind), 5);
    const mc = c.w.messages(caughtUp, peerOf(caughtUp), 2);
    const mg = c.w.messages(group, group.created_by, 4);
    const mn = c.w.messages(notMine, [...notMine.members.keys()][0]!, 3);
    await c.store.commit(batch({
      new_chats: [behind, caughtUp, silent, group, notMine],
      messages: [...mb, ...mc, ...mg, ...mn],
      watermarks: [
        { chat_id: behind.chat_id, user: me, delivered_id: mb[1]!.id, delivered_seq: 2, read_id: 0 },
        { chat_id: caughtUp.chat_id, user: me, delivered_id: mc[1]!.id, delivered_seq: 2, read_id: mc[1]!.id },
      ],
    }));
    const expected = [
      { chat_id: behind.chat_id, delivered_id: mb[1]!.id, pending: 3 },
      { chat_id: group.chat_id, delivered_id: 0, pending: 4 },
    ].sort((x, y) => x.chat_id.localeCompare(y.chat_id));
    assert.deepEqual(await c.pendingOf(me), expected);
    assert.deepEqual(await c.store.pendingChats(c.w.user()), [], 'a user in no chat has nothing pending');
  });

  test('a chat leaves pendingChats once the watermark reaches its newest message, and comes back with the next one', async () => {
    const me = c.w.user();
    const peer = c.w.user();
    const chat = c.w.direct(me, peer);
    const msgs = await c.chatWithMessages(chat, peer, 2);
    assert.deepEqual((await c.pendingOf(me)).map((p) => p.pending), [2]);
    await c.store.commit(batch({ watermarks: [{ chat_id: chat.chat_id, user: me, delivered_id: msgs[1]!.id, delivered_seq: 2, read_id: 0 }] }));
    assert.deepEqual(await c.store.pendingChats(me), []);
    await c.store.commit(batch({ messages: [c.w.message(chat, peer, 'again')] }));
    assert.deepEqual(await c.pendingOf(me), [{ chat_id: chat.chat_id, delivered_id: msgs[1]!.id, pending: 1 }]);
  });
}
