// What the store remembers of the chats it writes (this node is their single
// writer): each chat's members as persisted, so a commit needs no
// read-before-write, and each chat's newest bucket, so a chat_buckets row is
// written once per chat per bucket. Both bounded (SCYLLA_STORE_LIMITS).
import { type MemberState } from '../store';
import { SCYLLA_STORE_LIMITS } from '../../common/config-scylla';

/** The members of one chat as last written (or read) by this store: the single writer of its chats. */
export interface CachedChat {
  kind: number;
  members: Map<number, MemberState>;
}

export class ChatCache {
  /** chat id -> membership; the least recently stored entry goes first when full. */
  readonly members = new Map<string, CachedChat>();
  /** chat id -> newest bucket with a chat_buckets row; cleared when full. */
  readonly buckets = new Map<string, number>();

  rememberMembers(chatId: string, entry: CachedChat): void {
    this.members.delete(chatId);
    if (this.members.size >= SCYLLA_STORE_LIMITS.member_cache_chats_max) {
      const oldest = this.members.keys().next().value;
      if (oldest !== undefined) this.members.delete(oldest);
    }
    this.members.set(chatId, entry);
  }

  /** The chat has a chat_buckets row for `bucket` (kept only if newer than the one remembered). */
  rememberBucket(chatId: string, bucket: number): void {
    if ((this.buckets.get(chatId) ?? -1) < bucket) {
      if (this.buckets.size >= SCYLLA_STORE_LIMITS.bucket_cache_chats_max) this.buckets.clear();
      this.buckets.set(chatId, bucket);
    }
  }
}
