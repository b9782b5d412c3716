// The store conformance suite: the contract of MessageStore (server/store/store.ts)
// written once as behaviour, run unchanged against every implementation.
//
//   defineStoreConformance('sqlite', async () => ({ store, cleanup, reopen }))
//
// makeStore() is called once per suite and must return an EMPTY store. The
// tests share it and keep out of each other's way with their own users, phones
// and chats, so a networked store (ScyllaDB) pays for its schema once, not per
// test. They run in order; the durability test (close + reopen, only when the
// harness gives `reopen`) runs last.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { directChatId } from '../../server/common/chat-id';
import { IdGenerator, PROVISIONED_USER_ID_MIN } from '../../server/common/ids';
import {
  ChatKind,
  MessageKind,
  clientKey,
  emptyBatch,
  type ChatState,
  type CommitBatch,
  type MemberState,
  type MessageStore,
  type StoredMessage,
} from '../../server/store/store';

export interface StoreUnderTest {
  store: MessageStore;
  /** Close whatever store is open now and delete its data. */
  cleanup(): Promise<void>;
  /**
   * Stores that keep data across restarts: open a new store over the same data
   * (the suite has closed the previous one). Omit it for throwaway stores: the
   * durability test is then skipped.
   */
  reopen?(): Promise<MessageStore>;
}

/** A message as plain data: comparable with deepEqual whatever byte-array type a store returns. */
export function plainMessage(m: StoredMessage): Record<string, unknown> {
  return {
    id: m.id,
    chat_id: m.chat_id,
    seq: m.seq,
    sender: m.sender,
    client_msg_id: m.client_msg_id,
    body: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength).toString('hex'),
    sent_at_ms: m.sent_at_ms,
    kind: m.kind,
  };
}

function plainMembers(chat: ChatState): Record<string, MemberState> {
  const out: Record<string, MemberState> = {};
  for (const [user, m] of [...chat.members].sort((a, b) => a[0] - b[0])) {
    assert.equal(m.user, user, 'members are keyed by their user id');
    out[String(user)] = { ...m };
  }
  return out;
}

/** Users, phones, chats and ids that no other test (nor an earlier run against a kept database) uses. */
class World {
  readonly ids = new IdGenerator(randomInt(0, 16));
  private readonly tag = `${Date.now().toString(36)}${randomInt(1e9).toString(36)}`;
  private nextUserId = PROVISIONED_USER_ID_MIN + randomInt(1, 2 ** 30) * 1000;
  private phones = 0;
  private groups = 0;

  user(): number {
    return this.nextUserId++;
  }

  /** A block of `n` consecutive fresh user ids; returns the first. */
  userBlock(n: number): number {
    const first = this.nextUserId;
    this.nextUserId += n;
    return first;
  }

  phone(): string {
    return `+1555${this.tag}${String(++this.phones).padStart(4, '0')}`;
  }

  groupId(): string {
    return `g.${this.tag}.${++this.groups}`;
  }

  member(user: number, over: Partial<MemberState> = {}): MemberState {
    return { user, delivered_id: 0, delivered_seq: 0, read_id: 0, joined_seq: 0, admin: false, ...over };
  }

  direct(a: number, b: number): ChatState {
    return {
      chat_id: directChatId(a, b), kind: ChatKind.Direct, last_id: 0, last_seq: 0, name: '', created_by: 0,
      members: new Map([[a, this.member(a)], [b, this.member(b)]]),
    };
  }

  group(creator: number, others: number[], name = 'a group'): ChatState {
    const members = new Map<number, MemberState>([[creator, this.member(creator, { admin: true })]]);
    for (const u of others) members.set(u, this.member(u));
    return { chat_id: this.groupId(), kind: ChatKind.Group, last_id: 0, last_seq: 0, name, created_by: creator, members };
  }

  /** The chat's next message (advances the chat's in-memory head like the chat service does). */
  message(chat: ChatState, sender: number, text: string, over: Partial<StoredMessage> = {}): StoredMessage {
    const id = this.ids.next();
    chat.last_id = id;
    chat.last_seq += 1;
    return {
      id, chat_id: chat.chat_id, seq: chat.last_seq, sender, client_msg_id: `c-${this.tag}-${id}`,
      body: Buffer.from(text), sent_at_ms: Date.now(), kind: MessageKind.User, ...over,
    };
  }

  /** `n` messages; with `gaps`, ids are not consecutive, so an id strictly between two messages exists. */
  messages(chat: ChatState, sender: number, n: number, gaps = false): StoredMessage[] {
    return Array.from({ length: n }, (_, i) => {
      if (gaps) this.ids.next();
      return this.message(chat, sender, `message ${i + 1}`);
    });
  }
}

function batch(parts: Partial<CommitBatch>): CommitBatch {
  return { ...emptyBatch(), ...parts };
}

export function defineStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`store conformance: ${name}`, () => {
    let h: StoreUnderTest;
    let store: MessageStore;
    const w = new World();

    before(async () => {
      h = await makeStore();
      store = h.store;
    });
    after(async () => {
      await h?.cleanup();
    });

    /** pendingChats as plain, sorted data. */
    async function pendingOf(user: number): Promise<{ chat_id: string; delivered_id: number; pending: number }[]> {
      return (await store.pendingChats(user))
        .map(({ chat_id, delivered_id, pending }) => ({ chat_id, delivered_id, pending }))
        .sort((x, y) => x.chat_id.localeCompare(y.chat_id));
    }

    /** A chat created (with its members) and given `n` messages from `sender`, in one commit. */
    async function chatWithMessages(chat: ChatState, sender: number, n: number, gaps = false): Promise<StoredMessage[]> {
      const msgs = w.messages(chat, sender, n, gaps);
      await store.commit(batch({ new_chats: [chat], messages: msgs }));
      return msgs;
    }

    // ------------------------------------------------------------------ an empty store

    test('a new store is empty: no messages, no chats, no users', async () => {
      assert.equal(await store.maxMessageId(), 0);
      assert.equal(await store.loadChat(directChatId(w.user(), w.user())), null);
      assert.equal(await store.getUser(w.user()), null);
      assert.equal(typeof store.engine, 'string');
      assert.ok(store.engine.length > 0, 'a store names its engine');
    });

    // ------------------------------------------------------------------ users

    test('registering the same phone twice returns the same id, created only the first time', async () => {
      const phone = w.phone();
      const first = await store.registerUser(phone, 'Ada', 1000);
      const again = await store.registerUser(phone, 'Ada again', 2000);
      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.equal(again.id, first.id);
    });

    test('registered users get distinct positive ids below PROVISIONED_USER_ID_MIN', async () => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.registerUser(w.phone(), `user ${i}`, 1000)).id);
      assert.equal(new Set(ids).size, ids.length, `distinct ids: ${ids.join(', ')}`);
      for (const id of ids) {
        assert.ok(Number.isSafeInteger(id) && id > 0, `id ${id} is a positive integer`);
        assert.ok(id < PROVISIONED_USER_ID_MIN, `registered id ${id} is below the load-test range`);
      }
    });

    test('concurrent registrations: one phone gets one id, different phones get different ids', async () => {
      const phone = w.phone();
      const same = await Promise.all([store.registerUser(phone, 'x', 1), store.registerUser(phone, 'x', 1), store.registerUser(phone, 'x', 1)]);
      assert.equal(new Set(same.map((r) => r.id)).size, 1, 'one id for one phone');
      assert.equal(same.filter((r) => r.created).length, 1, 'exactly one registration created the user');
      const different = await Promise.all(Array.from({ length: 8 }, () => store.registerUser(w.phone(), 'y', 1)));
      assert.equal(new Set(different.map((r) => r.id)).size, 8, 'eight phones, eight ids');
      assert.ok(different.every((r) => r.created));
    });

    test('getUser returns a registered user with phone and display name, and null for an unknown id', async () => {
      const phone = w.phone();
      const { id } = await store.registerUser(phone, 'Grace Hopper', 1234);
      const u = await store.getUser(id);
      assert.ok(u);
      assert.equal(u.id, id);
      assert.equal(u.phone, phone);
      assert.equal(u.display_name, 'Grace Hopper');
      assert.equal(u.last_seen_ms, 0, 'never seen yet');
      assert.equal(await store.getUser(w.user()), null);
    });

    test('provisionUsers counts the users it created and is idempotent', async () => {
      const first = w.userBlock(100);
      assert.equal(await store.provisionUsers(first, 60, 1000), 60);
      assert.equal(await store.provisionUsers(first, 60, 2000), 0, 'the same range again creates nobody');
      assert.equal(await store.provisionUsers(first + 40, 60, 3000), 40, 'an overlapping range creates only the new ones');
      assert.equal(await store.provisionUsers(first, 0, 3000), 0);
      const u = await store.getUser(first + 99);
      assert.ok(u, 'the last user of the range exists');
      assert.equal(u.id, first + 99);
      assert.equal(u.phone, '', 'provisioned users have no phone');
      assert.equal(await store.getUser(first + 100), null, 'the range ends where it says');
    });

    test('existingUsers returns exactly the ids that exist, whichever way they were made', async () => {
      const provisioned = w.userBlock(3);
      await store.provisionUsers(provisioned, 3, 1000);
      const ensured = w.user();
      await store.ensureUser(ensured, 1000);
      const registered = (await store.registerUser(w.phone(), 'r', 1000)).id;
      const unknown = [w.user(), w.user()];
      const asked = [provisioned, provisioned + 2, ensured, registered, ...unknown, ensured];
      const found = await store.existingUsers(asked);
      assert.deepEqual([...found].sort((a, b) => a - b), [provisioned, provisioned + 2, ensured, registered].sort((a, b) => a - b));
      assert.equal((await store.existingUsers([])).size, 0);
    });

    test('ensureUser creates a user once and is harmless to repeat', async () => {
      const id = w.user();
      await store.ensureUser(id, 1000);
      await store.ensureUser(id, 2000);
      const u = await store.getUser(id);
      assert.ok(u);
      assert.equal(u.id, id);
      assert.equal(u.phone, '');
      assert.equal(u.display_name, '');
      // Ensuring a registered user keeps its phone and name.
      const phone = w.phone();
      const reg = await store.registerUser(phone, 'Kept', 1000);
      await store.ensureUser(reg.id, 3000);
      const kept = await store.getUser(reg.id);
      assert.equal(kept?.phone, phone);
      assert.equal(kept?.display_name, 'Kept');
    });

    test('last_seen from a commit reads back through getUser; a later commit replaces it', async () => {
      const id = w.user();
      await store.ensureUser(id, 1000);
      await store.commit(batch({ last_seen: [{ user: id, last_seen_ms: 1_700_000_000_000 }] }));
      assert.equal((await store.getUser(id))?.last_seen_ms, 1_700_000_000_000);
      await store.commit(batch({ last_seen: [{ user: id, last_seen_ms: 1_700_000_060_000 }] }));
      assert.equal((await store.getUser(id))?.last_seen_ms, 1_700_000_060_000);
    });

    // ------------------------------------------------------------------ chats and messages

    test('loadChat returns null for a chat that was never created', async () => {
      assert.equal(await store.loadChat(directChatId(w.user(), w.user())), null);
      assert.equal(await store.loadChat(w.groupId()), null);
    });

    test('a new 1:1 chat reads back with its members and their watermarks, and an empty head', async () => {
      const a = w.user();
      const b = w.user();
      const chat = w.direct(a, b);
      await store.commit(batch({ new_chats: [chat] }));
      const loaded = await store.loadChat(chat.chat_id);
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
      const creator = w.user();
      const others = [w.user(), w.user(), w.user()];
      const chat = w.group(creator, others, 'Ünïcode group 🚀');
      await store.commit(batch({ new_chats: [chat] }));
      const loaded = await store.loadChat(chat.chat_id);
      assert.ok(loaded);
      assert.equal(loaded.kind, ChatKind.Group);
      assert.equal(loaded.name, 'Ünïcode group 🚀');
      assert.equal(loaded.created_by, creator);
      assert.deepEqual(plainMembers(loaded), plainMembers(chat));
      assert.equal(loaded.members.get(creator)?.admin, true);
      assert.equal(loaded.members.get(others[0]!)?.admin, false);
    });

    test('a chat and its first messages commit together; its head is the newest message', async () => {
      const a = w.user();
      const b = w.user();
      const chat = w.direct(a, b);
      const msgs = await chatWithMessages(chat, a, 3);
      let loaded = await store.loadChat(chat.chat_id);
      assert.equal(loaded?.last_id, msgs[2]!.id);
      assert.equal(loaded?.last_seq, 3);
      // Later commits move the head.
      const more = [w.message(chat, b, 'four'), w.message(chat, a, 'five')];
      await store.commit(batch({ messages: more }));
      loaded = await store.loadChat(chat.chat_id);
      assert.equal(loaded?.last_id, more[1]!.id);
      assert.equal(loaded?.last_seq, 5);
    });

    test('a message reads back exactly as committed: binary body, unicode client id, kind, timestamps', async () => {
      const a = w.user();
      const chat = w.group(a, [w.user()]);
      await store.commit(batch({ new_chats: [chat] }));
      const body = new Uint8Array(300);
      for (let i = 0; i < body.length; i++) body[i] = (i * 37) & 0xff; // includes 0x00 and 0xff
      const user = w.message(chat, a, '', { body, client_msg_id: `ü-${w.user()}-😀`, sent_at_ms: 1_765_432_109_876 });
      const system = w.message(chat, a, '', { body: new Uint8Array([1, 0, 2]), kind: MessageKind.System });
      const empty = w.message(chat, a, '', { body: new Uint8Array(0) });
      await store.commit(batch({ messages: [user, system, empty] }));
      const page = await store.history(chat.chat_id, 0, 10);
      assert.deepEqual(page.map(plainMessage), [empty, system, user].map(plainMessage));
    });

    test('one commit can carry messages of several chats; each chat keeps only its own', async () => {
      const a = w.user();
      const c1 = w.direct(a, w.user());
      const c2 = w.direct(a, w.user());
      const g = w.group(a, [w.user()]);
      const m = [w.message(c1, a, 'x1'), w.message(c2, a, 'y1'), w.message(g, a, 'z1'), w.message(c1, a, 'x2'), w.message(c2, a, 'y2')];
      await store.commit(batch({ new_chats: [c1, c2, g], messages: m }));
      assert.deepEqual((await store.history(c1.chat_id, 0, 10)).map((x) => x.id), [m[3]!.id, m[0]!.id]);
      assert.deepEqual((await store.history(c2.chat_id, 0, 10)).map((x) => x.id), [m[4]!.id, m[1]!.id]);
      assert.deepEqual((await store.history(g.chat_id, 0, 10)).map((x) => x.id), [m[2]!.id]);
      for (const c of [c1, c2, g]) assert.equal((await store.loadChat(c.chat_id))?.last_id, c.last_id);
    });

    test('an empty commit changes nothing', async () => {
      const before = await store.maxMessageId();
      await store.commit(emptyBatch());
      assert.equal(await store.maxMessageId(), before);
    });

    // ------------------------------------------------------------------ watermarks

    test('a watermark moves forward with a commit', async () => {
      const a = w.user();
      const b = w.user();
      const chat = w.direct(a, b);
      const msgs = await chatWithMessages(chat, a, 3);
      await store.commit(batch({
        watermarks: [{ chat_id: chat.chat_id, user: b, delivered_id: msgs[2]!.id, delivered_seq: 3, read_id: msgs[1]!.id }],
      }));
      const m = (await store.loadChat(chat.chat_id))?.members.get(b);
      assert.deepEqual(m, { user: b, delivered_id: msgs[2]!.id, delivered_seq: 3, read_id: msgs[1]!.id, joined_seq: 0, admin: false });
      assert.deepEqual((await store.loadChat(chat.chat_id))?.members.get(a), w.member(a), "the other member's watermark did not move");
    });

    test('a watermark never moves backwards: each of delivered_id, delivered_seq and read_id keeps its maximum', async () => {
      const a = w.user();
      const b = w.user();
      const chat = w.direct(a, b);
      const msgs = await chatWithMessages(chat, a, 4);
      const wm = (delivered: number, read: number) => ({
        chat_id: chat.chat_id, user: b, delivered_id: msgs[delivered - 1]!.id, delivered_seq: delivered, read_id: read ? msgs[read - 1]!.id : 0,
      });
      await store.commit(batch({ watermarks: [wm(3, 2)] }));
      await store.commit(batch({ watermarks: [wm(1, 1)] })); // a late, stale ack
      let m = (await store.loadChat(chat.chat_id))?.members.get(b);
      assert.equal(m?.delivered_id, msgs[2]!.id);
      assert.equal(m?.delivered_seq, 3);
      assert.equal(m?.read_id, msgs[1]!.id);
      // Delivered behind, read ahead: read moves, delivered stays.
      await store.commit(batch({ watermarks: [wm(2, 3)] }));
      m = (await store.loadChat(chat.chat_id))?.members.get(b);
      assert.equal(m?.delivered_id, msgs[2]!.id);
      assert.equal(m?.delivered_seq, 3);
      assert.equal(m?.read_id, msgs[2]!.id);
      // Two moves of one member in one commit, the higher first: the higher wins.
      await store.commit(batch({ watermarks: [wm(4, 4), wm(3, 3)] }));
      m = (await store.loadChat(chat.chat_id))?.members.get(b);
      assert.equal(m?.delivered_id, msgs[3]!.id);
      assert.equal(m?.delivered_seq, 4);
      assert.equal(m?.read_id, msgs[3]!.id);
    });

    test('messages and the watermarks they move commit together (the sender catches up with its own message)', async () => {
      const a = w.user();
      const b = w.user();
      const chat = w.direct(a, b);
      await store.commit(batch({ new_chats: [chat] }));
      const m = w.message(chat, a, 'hi');
      await store.commit(batch({
        messages: [m], watermarks: [{ chat_id: chat.chat_id, user: a, delivered_id: m.id, delivered_seq: 1, read_id: m.id }],
      }));
      const loaded = await store.loadChat(chat.chat_id);
      assert.equal(loaded?.members.get(a)?.delivered_id, m.id);
      assert.equal(loaded?.members.get(b)?.delivered_id, 0);
      assert.equal(loaded?.last_id, m.id);
    });

    // ------------------------------------------------------------------ idempotent retries

    test('findByClientIds returns exactly the stored messages for those (sender, client id) pairs, keyed by clientKey()', async () => {
      const a = w.user();
      const b = w.user();
      const chat = w.direct(a, b);
      await store.commit(batch({ new_chats: [chat] }));
      const m1 = w.message(chat, a, 'one', { client_msg_id: 'retry-1' });
      const m2 = w.message(chat, a, 'two', { client_msg_id: 'retry-2' });
      const m3 = w.message(chat, b, 'three', { client_msg_id: 'retry-1' }); // same client id, other sender
      await store.commit(batch({ messages: [m1, m2, m3] }));
      const found = await store.findByClientIds([
        { sender: a, client_msg_id: 'retry-1' },
        { sender: b, client_msg_id: 'retry-1' },
        { sender: a, client_msg_id: 'never-sent' },
        { sender: b, client_msg_id: 'retry-2' }, // a's client id, b never used it
        { sender: w.user(), client_msg_id: 'retry-1' },
      ]);
      assert.deepEqual([...found.keys()].sort(), [clientKey(a, 'retry-1'), clientKey(b, 'retry-1')].sort());
      assert.deepEqual(plainMessage(found.get(clientKey(a, 'retry-1'))!), plainMessage(m1));
      assert.deepEqual(plainMessage(found.get(clientKey(b, 'retry-1'))!), plainMessage(m3));
      assert.equal((await store.findByClientIds([])).size, 0);
    });

    test('findByClientIds answers a large batch of keys across several chats in one call', async () => {
      const a = w.user();
      const chats = [w.direct(a, w.user()), w.direct(a, w.user()), w.group(a, [w.user()])];
      const msgs: StoredMessage[] = [];
      for (let i = 0; i < 150; i++) msgs.push(w.message(chats[i % 3]!, a, `m${i}`));
      await store.commit(batch({ new_chats: chats, messages: msgs }));
      const keys = msgs.map((m) => ({ sender: a, client_msg_id: m.client_msg_id }));
      for (let i = 0; i < 50; i++) keys.push({ sender: a, client_msg_id: `missing-${i}` });
      const found = await store.findByClientIds(keys);
      assert.equal(found.size, 150);
      for (const m of msgs) assert.deepEqual(plainMessage(found.get(clientKey(a, m.client_msg_id))!), plainMessage(m));
    });

    // ------------------------------------------------------------------ reading a chat

    test('history pages newest first with a before_id cursor and a limit', async () => {
      const a = w.user();
      const b = w.user();
      const chat = w.direct(a, b);
      const msgs = await chatWithMessages(chat, a, 25, true);
      const seen: number[] = [];
      let cursor = 0;
      const pages: number[] = [];
      for (;;) {
        const page = await store.history(chat.chat_id, cursor, 10);
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
      assert.deepEqual((await store.history(chat.chat_id, 0, 100)).map((m) => m.seq), msgs.map((m) => m.seq).reverse());
      // A cursor that is not a message id: everything strictly below it.
      assert.deepEqual((await store.history(chat.chat_id, msgs[4]!.id - 1, 10)).map((m) => m.seq), [4, 3, 2, 1]);
      assert.deepEqual(await store.history(chat.chat_id, msgs[0]!.id, 10), [], 'nothing below the first message');
    });

    test('history of an unknown or empty chat is empty', async () => {
      assert.deepEqual(await store.history(directChatId(w.user(), w.user()), 0, 10), []);
      const chat = w.direct(w.user(), w.user());
      await store.commit(batch({ new_chats: [chat] }));
      assert.deepEqual(await store.history(chat.chat_id, 0, 10), []);
    });

    test('messagesAfter returns the messages after an id, oldest first, at most limit', async () => {
      const a = w.user();
      const chat = w.direct(a, w.user());
      const msgs = await chatWithMessages(chat, a, 12, true);
      const ids = msgs.map((m) => m.id);
      assert.deepEqual((await store.messagesAfter(chat.chat_id, 0, 5)).map((m) => m.id), ids.slice(0, 5));
      assert.deepEqual((await store.messagesAfter(chat.chat_id, ids[4]!, 5)).map((m) => m.id), ids.slice(5, 10));
      assert.deepEqual((await store.messagesAfter(chat.chat_id, ids[9]!, 5)).map((m) => m.id), ids.slice(10));
      assert.deepEqual(await store.messagesAfter(chat.chat_id, ids[11]!, 5), []);
      // An id between two messages (e.g. a TTL floor) is a valid starting point.
      assert.deepEqual((await store.messagesAfter(chat.chat_id, ids[6]! + 1, 100)).map((m) => m.seq), [8, 9, 10, 11, 12]);
      const full = await store.messagesAfter(chat.chat_id, ids[10]!, 10);
      assert.deepEqual(full.map(plainMessage), [plainMessage(msgs[11]!)], 'whole messages, not just ids');
      assert.deepEqual(await store.messagesAfter(directChatId(w.user(), w.user()), 0, 10), []);
    });

    test('headAtOrBelow finds the newest message at or below an id', async () => {
      const a = w.user();
      const chat = w.direct(a, w.user());
      const msgs = await chatWithMessages(chat, a, 5, true);
      assert.deepEqual(await store.headAtOrBelow(chat.chat_id, msgs[2]!.id), { id: msgs[2]!.id, seq: 3 }, 'an exact id');
      assert.deepEqual(await store.headAtOrBelow(chat.chat_id, msgs[3]!.id - 1), { id: msgs[2]!.id, seq: 3 }, 'between two messages');
      assert.deepEqual(await store.headAtOrBelow(chat.chat_id, Number.MAX_SAFE_INTEGER), { id: msgs[4]!.id, seq: 5 }, 'above all');
      assert.equal(await store.headAtOrBelow(chat.chat_id, msgs[0]!.id - 1), null, 'below the first message');
      assert.equal(await store.headAtOrBelow(directChatId(w.user(), w.user()), Number.MAX_SAFE_INTEGER), null, 'unknown chat');
    });

    // ------------------------------------------------------------------ offline queues

    test("pendingChats lists only chats with messages above the user's delivered watermark, with the pending count", async () => {
      const me = w.user();
      const behind = w.direct(me, w.user()); // 5 messages, delivered up to 2: 3 pending
      const caughtUp = w.direct(me, w.user()); // 2 messages, all delivered
      const silent = w.direct(me, w.user()); // no messages
      const group = w.group(w.user(), [me, w.user()]); // 4 messages, none delivered
      const notMine = w.direct(w.user(), w.user()); // messages, but I am not in it
      const peerOf = (c: ChatState) => [...c.members.keys()].find((u) => u !== me)!;
      const mb = w.messages(behind, peerOf(behind), 5);
      const mc = w.messages(caughtUp, peerOf(caughtUp), 2);
      const mg = w.messages(group, group.created_by, 4);
      const mn = w.messages(notMine, [...notMine.members.keys()][0]!, 3);
      await store.commit(batch({
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
      assert.deepEqual(await pendingOf(me), expected);
      assert.deepEqual(await store.pendingChats(w.user()), [], 'a user in no chat has nothing pending');
    });

    test('a chat leaves pendingChats once the watermark reaches its newest message, and comes back with the next one', async () => {
      const me = w.user();
      const peer = w.user();
      const chat = w.direct(me, peer);
      const msgs = await chatWithMessages(chat, peer, 2);
      assert.deepEqual((await pendingOf(me)).map((p) => p.pending), [2]);
      await store.commit(batch({ watermarks: [{ chat_id: chat.chat_id, user: me, delivered_id: msgs[1]!.id, delivered_seq: 2, read_id: 0 }] }));
      assert.deepEqual(await store.pendingChats(me), []);
      await store.commit(batch({ messages: [w.message(chat, peer, 'again')] }));
      assert.deepEqual(await pendingOf(me), [{ chat_id: chat.chat_id, delivered_id: msgs[1]!.id, pending: 1 }]);
    });

    // ------------------------------------------------------------------ groups

    test('member changes add a member with its join point, change admin flags and remove members', async () => {
      const creator = w.user();
      const bob = w.user();
      const chat = w.group(creator, [bob]);
      const msgs = await chatWithMessages(chat, creator, 3);
      const carol = w.user();
      const joined = w.member(carol, { delivered_id: msgs[2]!.id, delivered_seq: 3, read_id: msgs[2]!.id, joined_seq: 3 });
      await store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, member: joined }] }));
      let loaded = await store.loadChat(chat.chat_id);
      assert.deepEqual(loaded?.members.get(carol), joined);
      assert.equal(loaded?.members.size, 3);

      await store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, member: { ...joined, admin: true } }] }));
      loaded = await store.loadChat(chat.chat_id);
      assert.equal(loaded?.members.get(carol)?.admin, true, 'promoted');

      await store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, remove: bob }] }));
      loaded = await store.loadChat(chat.chat_id);
      assert.equal(loaded?.members.has(bob), false, 'removed');
      assert.deepEqual([...loaded!.members.keys()].sort((a, b) => a - b), [creator, carol].sort((a, b) => a - b));
      assert.equal((await store.pendingChats(bob)).length, 0, 'a removed member has nothing pending in the group');
    });

    test("a member change never moves that member's watermarks backwards", async () => {
      const creator = w.user();
      const bob = w.user();
      const chat = w.group(creator, [bob]);
      const msgs = await chatWithMessages(chat, creator, 3);
      await store.commit(batch({ watermarks: [{ chat_id: chat.chat_id, user: bob, delivered_id: msgs[2]!.id, delivered_seq: 3, read_id: msgs[2]!.id }] }));
      // A promotion carrying an older snapshot of bob's state.
      await store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, member: w.member(bob, { admin: true }) }] }));
      const m = (await store.loadChat(chat.chat_id))?.members.get(bob);
      assert.equal(m?.admin, true);
      assert.equal(m?.delivered_id, msgs[2]!.id);
      assert.equal(m?.delivered_seq, 3);
      assert.equal(m?.read_id, msgs[2]!.id);
    });

    test('a member removed and added again starts from the new join point', async () => {
      const creator = w.user();
      const bob = w.user();
      const chat = w.group(creator, [bob]);
      await chatWithMessages(chat, creator, 2);
      await store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, remove: bob }] }));
      const later = w.messages(chat, creator, 2);
      await store.commit(batch({ messages: later }));
      const back = w.member(bob, { delivered_id: later[1]!.id, delivered_seq: 4, read_id: later[1]!.id, joined_seq: 4 });
      await store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, member: back }] }));
      assert.deepEqual((await store.loadChat(chat.chat_id))?.members.get(bob), back);
      assert.deepEqual(await store.pendingChats(bob), [], 'nothing from before the rejoin is pending');
    });

    test('a watermark for someone who is not (or no longer) a member does not make them one', async () => {
      const creator = w.user();
      const bob = w.user();
      const stranger = w.user();
      const chat = w.group(creator, [bob]);
      const msgs = await chatWithMessages(chat, creator, 2);
      const wm = (user: number) => ({ chat_id: chat.chat_id, user, delivered_id: msgs[1]!.id, delivered_seq: 2, read_id: msgs[1]!.id });
      // Removed and acked in the same commit (an ack that raced the removal), then acked again later.
      await store.commit(batch({ member_changes: [{ chat_id: chat.chat_id, remove: bob }], watermarks: [wm(bob), wm(stranger)] }));
      await store.commit(batch({ watermarks: [wm(bob), wm(stranger)] }));
      const loaded = await store.loadChat(chat.chat_id);
      assert.deepEqual([...loaded!.members.keys()], [creator]);
      assert.deepEqual(await store.pendingChats(bob), []);
      assert.deepEqual(await store.pendingChats(stranger), []);
    });

    test('membership changes in one commit apply in order', async () => {
      const creator = w.user();
      const bob = w.user();
      const carol = w.user();
      const chat = w.group(creator, [bob]);
      await store.commit(batch({ new_chats: [chat] }));
      await store.commit(batch({
        member_changes: [
          { chat_id: chat.chat_id, member: w.member(carol) },
          { chat_id: chat.chat_id, remove: carol }, // added, then removed: out
          { chat_id: chat.chat_id, remove: bob },
          { chat_id: chat.chat_id, member: w.member(bob, { admin: true }) }, // removed, then added back as admin: in
        ],
      }));
      const loaded = await store.loadChat(chat.chat_id);
      assert.equal(loaded?.members.has(carol), false);
      assert.equal(loaded?.members.get(bob)?.admin, true);
    });

    test('a group created and changed in the same commit', async () => {
      const creator = w.user();
      const late = w.user();
      const chat = w.group(creator, [w.user()], 'before');
      const created = w.message(chat, creator, '', { kind: MessageKind.System });
      await store.commit(batch({
        new_chats: [chat],
        messages: [created],
        member_changes: [{ chat_id: chat.chat_id, member: w.member(late, { joined_seq: 1, delivered_seq: 1, delivered_id: created.id }) }],
        chat_renames: [{ chat_id: chat.chat_id, name: 'after' }],
      }));
      const loaded = await store.loadChat(chat.chat_id);
      assert.equal(loaded?.name, 'after');
      assert.equal(loaded?.members.size, 3);
      assert.equal(loaded?.members.get(late)?.joined_seq, 1);
      assert.equal(loaded?.last_seq, 1);
    });

    test('renaming a group changes its name and nothing else', async () => {
      const creator = w.user();
      const chat = w.group(creator, [w.user()], 'old name');
      await chatWithMessages(chat, creator, 2);
      await store.commit(batch({ chat_renames: [{ chat_id: chat.chat_id, name: 'new name' }] }));
      const loaded = await store.loadChat(chat.chat_id);
      assert.equal(loaded?.name, 'new name');
      assert.equal(loaded?.created_by, creator);
      assert.equal(loaded?.last_seq, 2);
      assert.equal(loaded?.members.size, 2);
    });

    // ------------------------------------------------------------------ restart

    test('maxMessageId is the highest message id ever committed', async () => {
      const a = w.user();
      const c1 = w.direct(a, w.user());
      const c2 = w.direct(a, w.user());
      const m1 = w.messages(c1, a, 3);
      const m2 = w.messages(c2, a, 2);
      // Out of id order inside the commit, and across chats.
      await store.commit(batch({ new_chats: [c1, c2], messages: [...m2, ...m1] }));
      assert.equal(await store.maxMessageId(), m2[1]!.id);
      // Ids minted later by another generator (another chat-service node) but committed in any order.
      const older = w.message(c1, a, 'from a slower node');
      const newest = w.message(c2, a, 'newest');
      await store.commit(batch({ messages: [newest] }));
      await store.commit(batch({ messages: [older] }));
      assert.equal(await store.maxMessageId(), newest.id);
      // An id generator advanced past it never mints an id at or below it.
      const next = new IdGenerator(3, () => 0);
      next.advancePast(await store.maxMessageId());
      assert.ok(next.next() > newest.id);
    });

    test('everything committed survives closing and reopening the store', async (t) => {
      if (!h.reopen) {
        t.skip('this store keeps nothing across restarts');
        return;
      }
      const phone = w.phone();
      const reg = await store.registerUser(phone, 'Durable', 1000);
      const creator = w.user();
      const bob = w.user();
      await store.ensureUser(creator, 1000);
      const chat = w.group(creator, [bob], 'kept');
      const msgs = await chatWithMessages(chat, creator, 4);
      await store.commit(batch({
        watermarks: [{ chat_id: chat.chat_id, user: bob, delivered_id: msgs[1]!.id, delivered_seq: 2, read_id: msgs[0]!.id }],
        last_seen: [{ user: creator, last_seen_ms: 1_700_000_123_000 }],
      }));
      const chatBefore = await store.loadChat(chat.chat_id);
      const maxBefore = await store.maxMessageId();

      await store.close();
      store = await h.reopen();

      assert.equal(await store.maxMessageId(), maxBefore);
      const chatAfter = await store.loadChat(chat.chat_id);
      assert.ok(chatAfter && chatBefore);
      assert.deepEqual({ ...chatAfter, members: plainMembers(chatAfter) }, { ...chatBefore, members: plainMembers(chatBefore) });
      assert.deepEqual((await store.history(chat.chat_id, 0, 10)).map(plainMessage), [...msgs].reverse().map(plainMessage));
      assert.deepEqual(await store.registerUser(phone, 'Durable', 2000), { id: reg.id, created: false });
      assert.equal((await store.getUser(creator))?.last_seen_ms, 1_700_000_123_000);
      const found = await store.findByClientIds([{ sender: creator, client_msg_id: msgs[3]!.client_msg_id }]);
      assert.equal(found.get(clientKey(creator, msgs[3]!.client_msg_id))?.id, msgs[3]!.id);
      assert.deepEqual(await pendingOf(bob), [{ chat_id: chat.chat_id, delivered_id: msgs[1]!.id, pending: 2 }]);
      // Still writable after the restart, and ids keep going up.
      const next = w.message(chat, creator, 'after restart');
      await store.commit(batch({ messages: [next] }));
      assert.equal((await store.loadChat(chat.chat_id))?.last_seq, 5);
    });
  });
}
