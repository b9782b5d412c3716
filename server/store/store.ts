// The store interface: the only way the chat service touches durable state.
// It is small on purpose and batch-shaped: the chat service gathers a turn's
// work (messages, new chats, watermark moves) and commits it in one call, so an
// embedded engine does one transaction and a networked one (ScyllaDB) one round
// of concurrent writes. Every call may be async.
//
// Implementations: server/store/embedded (SQLite, the zero-setup default) and
// server/store/scylla (ScyllaDB over CQL; tested on Apache Cassandra 5). The
// conformance suite (test/helpers/store-conformance/, run by
// test/store-conformance.test.ts and test/scylla-store.test.ts) runs against each.

import type { KeyDirectory } from './keys';

export type { DeviceKeys, KeyDirectory, KeysWrite, OneTimeKey, SignedKey, TakenBundle } from './keys';

export interface StoredMessage {
  /** Time-ordered id (server/common/ids.ts). */
  id: number;
  chat_id: string;
  /** 1, 2, 3, ... within the chat. */
  seq: number;
  sender: number;
  client_msg_id: string;
  body: Uint8Array;
  sent_at_ms: number;
  /** 0: a user's message (body = ciphertext); 1: a group system event (body = encoded SystemEvent). */
  kind: number;
}

export const MessageKind = { User: 0, System: 1 } as const;

export const enum ChatKind {
  Direct = 1,
  Group = 2,
}

export interface MemberState {
  user: number;
  /** Cumulative watermarks: every message with id <= these has been delivered / read. */
  delivered_id: number;
  delivered_seq: number;
  read_id: number;
  /** Messages with seq <= joined_seq were sent before the member joined. */
  joined_seq: number;
  /** Group admin (always false in 1:1 chats). */
  admin: boolean;
}

export interface ChatState {
  chat_id: string;
  kind: ChatKind;
  last_id: number;
  last_seq: number;
  members: Map<number, MemberState>;
  /** Groups: name and creator ('' and 0 for 1:1 chats). */
  name: string;
  created_by: number;
}

export interface WatermarkUpdate {
  chat_id: string;
  user: number;
  delivered_id: number;
  delivered_seq: number;
  read_id: number;
}

/**
 * One turn of writes, committed atomically (embedded) or as one round of
 * idempotent writes. A chat's head (last id and seq) is not written: it is the
 * newest message of the chat, read back when a chat is loaded.
 */
export interface CommitBatch {
  /** Chats created in this turn, with their members. */
  new_chats: ChatState[];
  messages: StoredMessage[];
  /** Watermark moves (only ever forward; the store keeps the max). */
  watermarks: WatermarkUpdate[];
  /** Group membership, in order: a member added or whose admin flag changed, or a member removed. */
  member_changes: MemberChange[];
  chat_renames: { chat_id: string; name: string }[];
  last_seen: { user: number; last_seen_ms: number }[];
  /**
   * Fencing (server/cluster/): the partitions this batch touches, each with
   * the token its writer claimed it under. The store refuses the whole batch
   * with a FencedError when any partition has since been claimed with a higher
   * token, so a paused former owner's late commit changes nothing. Empty in
   * the single-process default (no partition is ever claimed).
   */
  fences?: PartitionFence[];
}

export interface PartitionFence {
  partition: number;
  token: number;
}

/** A commit refused because a newer owner has claimed one of its partitions. Nothing of the batch was stored. */
export class FencedError extends Error {
  constructor(
    readonly partition: number,
    readonly token: number,
    readonly current: number,
  ) {
    super(`partition ${partition} is fenced: claimed with token ${current}, this writer holds ${token}`);
    this.name = 'FencedError';
  }
}

export type MemberChange = { chat_id: string; member: MemberState } | { chat_id: string; remove: number };

export interface PendingChat {
  chat_id: string;
  delivered_id: number;
  /** Messages above the user's delivered watermark (its own included, until an ack rolls over them). */
  pending: number;
}

export interface UserRecord {
  id: number;
  phone: string;
  display_name: string;
  last_seen_ms: number;
  /** LastSeenPrivacy (client.proto): 0 or 1 everyone, 2 contacts, 3 nobody. */
  last_seen_privacy: number;
}

/** Which kinds of chat two users are both members of. */
export interface SharedChats {
  direct: boolean;
  group: boolean;
}

export interface MessageStore {
  readonly engine: string;
  /**
   * How long a new owner waits after claiming partitions before it reads them:
   * 0 where the fence check and the writes are one transaction (SQLite); on a
   * store where a paused former owner's already-issued writes can still land
   * after the claim (CQL), long enough for them to land or fail first.
   */
  readonly takeoverQuietMs?: number;
  /** The key directory (end-to-end encryption: public keys only; server/store/keys.ts). */
  readonly keys: KeyDirectory;

  /** Register a phone number; the same phone gets the same id back. */
  registerUser(phone: string, displayName: string, nowMs: number): Promise<{ id: number; created: boolean }>;
  /** Load-test users [first, first + count) without phone numbers. Returns how many were new. */
  provisionUsers(first: number, count: number, nowMs: number): Promise<number>;
  /** Which of these ids exist. */
  existingUsers(ids: readonly number[]): Promise<Set<number>>;
  /** Ensure a token-holding user exists (load-test tokens are minted without registration). */
  ensureUser(id: number, nowMs: number): Promise<void>;
  getUser(id: number): Promise<UserRecord | null>;
  /** Store a user's last-seen privacy setting (presence.ts reads it back through getUser). */
  setLastSeenPrivacy(user: number, value: number): Promise<void>;
  /** Whether users a and b share a 1:1 chat and/or a group (presence subscriptions are allowed only then). */
  sharedChatKinds(a: number, b: number): Promise<SharedChats>;

  /**
   * The chat's state with every member, or null if it does not exist. `fence`: the
   * loading node owns the chat's partition under this token (a chat node of several).
   * A store whose fence check and writes are not one transaction (CQL) makes, on the
   * first load under a newer token, every message row a former owner may still land
   * for this chat harmless (docs/design/005, "Late rows"); SQLite needs nothing.
   */
  loadChat(chatId: string, fence?: PartitionFence): Promise<ChatState | null>;
  /** Messages already stored under these (sender, client id) pairs (idempotent retries), keyed by clientKey(). */
  findByClientIds(keys: readonly ClientKey[]): Promise<Map<string, StoredMessage>>;
  commit(batch: CommitBatch): Promise<void>;

  /** Newest first, ids < beforeId (0 = from the newest). */
  history(chatId: string, beforeId: number, limit: number): Promise<StoredMessage[]>;
  /** Oldest first: messages of a chat with id > afterId, at most limit. */
  messagesAfter(chatId: string, afterId: number, limit: number): Promise<StoredMessage[]>;
  /** The highest (id, seq) in the chat at or below upToId; null if none. */
  headAtOrBelow(chatId: string, upToId: number): Promise<{ id: number; seq: number } | null>;
  /** Chats where this user has undelivered messages. */
  pendingChats(user: number): Promise<PendingChat[]>;

  /** Highest message id ever stored (id generators start above it after a restart). */
  maxMessageId(): Promise<number>;

  /**
   * A new owner claims partitions with its fencing token (a number above every
   * token before it: the etcd revision of its ownership key). Returns the
   * partitions claimed; a partition already claimed with a higher token is not
   * (its owner moved on again) and is left out. From then on a commit carrying
   * a lower token for any claimed partition fails with FencedError.
   */
  claimPartitions(partitions: readonly number[], token: number): Promise<number[]>;
  close(): Promise<void>;
}

export interface ClientKey {
  sender: number;
  client_msg_id: string;
}

/** The map key for a (sender, client_msg_id) pair. */
export function clientKey(sender: number, clientMsgId: string): string {
  return `${sender}\u0000${clientMsgId}`;
}

export function emptyBatch(): CommitBatch {
  return { new_chats: [], messages: [], watermarks: [], last_seen: [], member_changes: [], chat_renames: [] };
}

export function batchIsEmpty(b: CommitBatch): boolean {
  return b.new_chats.length + b.messages.length + b.watermarks.length + b.last_seen.length +
    b.member_changes.length + b.chat_renames.length === 0;
}
