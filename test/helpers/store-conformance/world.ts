// The store conformance suite's shared pieces: what a harness hands it, fresh
// users/chats/ids that no other test uses, and comparison helpers.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { directChatId } from '../../../server/common/chat-id';
import { IdGenerator, PROVISIONED_USER_ID_MIN } from '../../../server/common/ids';
import {
  ChatKind,
  MessageKind,
  emptyBatch,
  type ChatState,
  type CommitBatch,
  type MemberState,
  type MessageStore,
  type StoredMessage,
} from '../../../server/store/store';

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
  /** A second store over the same data (another chat node's connection), closed by the test that opens it; omit where there is none. */
  peer?(): Promise<MessageStore>;
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

export function plainMembers(chat: ChatState): Record<string, MemberState> {
  const out: Record<string, MemberState> = {};
  for (const [user, m] of [...chat.members].sort((a, b) => a[0] - b[0])) {
    assert.equal(m.user, user, 'members are keyed by their user id');
    out[String(user)] = { ...m };
  }
  return out;
}

/** Users, phones, chats and ids that no other test (nor an earlier run against a kept database) uses. */
export class World {
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

export function batch(parts: Partial<CommitBatch>): CommitBatch {
  return { ...emptyBatch(), ...parts };
}

/** What every part of the suite works with; `store` changes when the durability test reopens it. */
export interface ConformanceContext {
  store: MessageStore;
  readonly h: StoreUnderTest;
  readonly w: World;
  /** pendingChats as plain, sorted data. */
  pendingOf(user: number): Promise<{ chat_id: string; delivered_id: number; pending: number }[]>;
  /** A chat created (with its members) and given `n` messages from `sender`, in one commit. */
  chatWithMessages(chat: ChatState, sender: number, n: number, gaps?: boolean): Promise<StoredMessage[]>;
}
