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
import { after, before, describe } from 'node:test';
import type { ChatState, MessageStore, StoredMessage } from '../../../server/store/store';
import { chatsConformance } from './chats';
import { fencingConformance } from './fencing';
import { groupsConformance } from './groups';
import { keysConformance } from './keys';
import { readsConformance } from './reads';
import { usersConformance } from './users';
import { batch, World, type ConformanceContext, type StoreUnderTest } from './world';

export { plainMessage, type StoreUnderTest } from './world';

export function defineStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`store conformance: ${name}`, () => {
    const c: ConformanceContext = {
      store: null as unknown as MessageStore,
      h: null as unknown as StoreUnderTest,
      w: new World(),
      pendingOf: async (user: number) =>
        (await c.store.pendingChats(user))
          .map(({ chat_id, delivered_id, pending }) => ({ chat_id, delivered_id, pending }))
          .sort((x, y) => x.chat_id.localeCompare(y.chat_id)),
      chatWithMessages: async (chat: ChatState, sender: number, n: number, gaps = false): Promise<StoredMessage[]> => {
        const msgs = c.w.messages(chat, sender, n, gaps);
        await c.store.commit(batch({ new_chats: [chat], messages: msgs }));
        return msgs;
      },
    };

    before(async () => {
      (c as { h: StoreUnderTest }).h = await makeStore();
      c.store = c.h.store;
    });
    after(async () => {
      await c.h?.cleanup();
    });

    usersConformance(c);
    chatsConformance(c);
    readsConformance(c);
    fencingConformance(c);
    keysConformance(c);
    groupsConformance(c); // last: its durability test closes and reopens the store
  });
}
