// The chat engine's four caches, each bounded by a limit of
// server/common/config.ts, each a copy of what the store holds (an evicted
// entry reloads from it):
//   ChatCache        chat state (head, members, watermarks, recent ring) by chat id
//   ClientIdCache    (sender, client_msg_id) -> stored message, for idempotent retries
//   KnownUsers       user ids known to exist
//   PendingCounts    undelivered 1:1 messages per user (the QUEUE_FULL bound)
import { invariant } from '../../lib/invariant';
import type { Limits } from '../common/config';
import { isDirectChatId } from '../common/chat-id';
import { ErrorCode, ProtocolError } from '../common/errors';
import { ChatKind, type MessageStore, type PartitionFence, type StoredMessage } from '../store/store';
import { aggregateMoves, cachedChat, type CachedChat } from './chat-state';

export class ChatCache {
  private readonly chats = new Map<string, CachedChat>();
  /**
   * Loads in flight: a drain and a tick asking for one uncached chat share one read. Two reads would
   * each add their copy, and the later one could put back a head older than a message staged since.
   */
  private readonly loading = new Map<string, Promise<CachedChat | null>>();

  constructor(
    private readonly store: MessageStore,
    private readonly limits: Limits,
    /** The partition's fence when this node is one of several chat nodes (store.ts: loadChat); none in the single-process default. */
    private readonly fenceOf: (chatId: string) => PartitionFence | undefined = () => undefined,
  ) {}

  /** A cached chat, without a store read (the hot path stays synchronous on a hit). */
  cached(chatId: string): CachedChat | undefined {
    return this.chats.get(chatId);
  }

  /** The chat, from the cache or the store; null if it does not exist. */
  async get(chatId: string): Promise<CachedChat | null> {
    const hit = this.chats.get(chatId);
    if (hit) return hit;
    let load = this.loading.get(chatId);
    if (!load) {
      load = this.load(chatId).finally(() => this.loading.delete(chatId));
      this.loading.set(chatId, load);
    }
    return load;
  }

  private async load(chatId: string): Promise<CachedChat | null> {
    const loaded = await this.store.loadChat(chatId, this.fenceOf(chatId));
    if (!loaded) return null;
    const chat = cachedChat(loaded);
    if (chat.kind === ChatKind.Group) aggregateMoves(chat); // start from the stored state, announce only new progress
    this.add(chat);
    return chat;
  }

  /** The chat if `user` is a member of it (and it is of `kind`); NOT_A_PARTICIPANT otherwise, also for unknown chats. */
  async memberChat(chatId: string, user: number, kind?: ChatKind): Promise<CachedChat> {
    return this.memberChatCached(chatId, user, kind) ?? member(await this.get(chatId), chatId, user, kind);
  }

  /** memberChat without a store read: undefined when the chat is not cached (the hot path stays synchronous on a hit). */
  memberChatCached(chatId: string, user: number, kind?: ChatKind): CachedChat | undefined {
    invariant(chatId.length > 0 && chatId.length <= this.limits.chat_id_bytes_max, 'chat ids are validated at the edge');
    const hit = this.chats.get(chatId);
    return hit && member(hit, chatId, user, kind);
  }

  /** Forget chats (partitions that moved to another node, or after a failed commit): they reload from the store. */
  dropWhere(pred: (chat: CachedChat) => boolean): number {
    let n = 0;
    for (const [id, chat] of this.chats) {
      if (pred(chat)) {
        this.chats.delete(id);
        n++;
      }
    }
    return n;
  }

  add(chat: CachedChat): void {
    // Oldest-inserted eviction keeps memory bounded; an evicted chat reloads from the store.
    if (this.chats.size >= this.limits.chat_cache_entries_max) {
      const oldest = this.chats.keys().next().value;
      if (oldest !== undefined) this.chats.delete(oldest);
    }
    this.chats.set(chat.chat_id, chat);
    invariant(this.chats.size <= this.limits.chat_cache_entries_max, 'chat cache within chat_cache_entries_max');
  }
}

function member(chat: CachedChat | null, chatId: string, user: number, kind: ChatKind | undefined): CachedChat {
  if (!chat || !chat.members.has(user) || (kind !== undefined && chat.kind !== kind)) {
    // Same answer for "no such chat" and "not yours": do not reveal which chats exist.
    throw new ProtocolError(ErrorCode.NOT_A_PARTICIPANT, `not a participant of ${chatId}`);
  }
  return chat;
}

export class ClientIdCache {
  private readonly byKey = new Map<string, StoredMessage>();

  constructor(private readonly max: number) {}

  get(key: string): StoredMessage | undefined {
    return this.byKey.get(key);
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  clear(): void {
    this.byKey.clear();
  }

  remember(key: string, msg: StoredMessage): void {
    if (this.byKey.size >= this.max) {
      const oldest = this.byKey.keys().next().value;
      if (oldest !== undefined) this.byKey.delete(oldest);
    }
    this.byKey.set(key, msg);
  }
}

export class KnownUsers {
  private readonly ids = new Set<number>();

  constructor(private readonly max: number) {}

  has(id: number): boolean {
    return this.ids.has(id);
  }

  remember(id: number): void {
    if (this.ids.size >= this.max) this.ids.clear();
    this.ids.add(id);
  }
}

/** Undelivered 1:1 messages per user: computed from the store on first need, then maintained by sends and acks. */
export class PendingCounts {
  private readonly byUser = new Map<number, number>();
  /** Counts being read: a tick's prefetch and a drain asking for one uncounted user share one read. */
  private readonly loading = new Map<number, Promise<number>>();

  constructor(
    private readonly store: MessageStore,
    private readonly max: number,
  ) {}

  cached(user: number): number | undefined {
    return this.byUser.get(user);
  }

  async of(user: number): Promise<number> {
    const known = this.byUser.get(user);
    if (known !== undefined) return known;
    let load = this.loading.get(user);
    if (!load) {
      load = this.load(user).finally(() => this.loading.delete(user));
      this.loading.set(user, load);
    }
    return load;
  }

  private async load(user: number): Promise<number> {
    let total = 0;
    // Direct chats only: QUEUE_FULL guards 1:1 sends; a group backlog is bounded by the TTL.
    for (const p of await this.store.pendingChats(user)) if (isDirectChatId(p.chat_id)) total += Math.max(0, p.pending);
    if (this.byUser.size >= this.max) this.byUser.clear();
    this.byUser.set(user, total);
    return total;
  }

  /** Only users already counted move: an uncounted user is counted from the store when it matters. */
  add(user: number, delta: number): void {
    const known = this.byUser.get(user);
    if (known !== undefined) this.byUser.set(user, Math.max(0, known + delta));
  }

  entries(): IterableIterator<[number, number]> {
    return this.byUser.entries();
  }

  clear(): void {
    this.byUser.clear();
  }
}
