// Store timings without touching any store engine: a MessageStore that times
// its inner store's commits and reads. The engine calls the store once per
// tick for the commit and on cache misses for reads, so this is one clock read
// pair and one observation per store call, never per message.
import type { Registry } from 'prom-client';
import type { ChatState, ClientKey, CommitBatch, KeyDirectory, MessageStore, PartitionFence, PendingChat, StoredMessage, UserRecord, SharedChats } from '../store/store';
import { FastHistogram, type HistogramSeries } from './fast-histogram';
import { BATCH_BUCKETS, CallbackMetric, labelled, STEP_BUCKETS_SECONDS } from './registry';

/** Every read the engine makes, as the `op` label's values. */
export const STORE_READ_OPS = [
  'load_chat', 'find_by_client_ids', 'history', 'messages_after', 'head_at_or_below', 'pending_chats', 'existing_users', 'get_user',
] as const;
export type StoreReadOp = (typeof STORE_READ_OPS)[number];
export const STORE_OPS = ['commit', ...STORE_READ_OPS] as const;

export class StoreMetrics {
  readonly commitDuration: HistogramSeries;
  readonly commitMessages: HistogramSeries;
  readonly reads: Record<StoreReadOp, HistogramSeries>;
  readonly errors: Record<string, number> = {};

  constructor(registry: Registry, engine: string) {
    this.commitDuration = new FastHistogram({
      name: 'wa_store_commit_duration_seconds',
      help: 'One store commit (a tick\'s messages, chats, watermarks: one transaction / one round of writes)',
      buckets: STEP_BUCKETS_SECONDS, registry,
    }).unlabelled;
    this.commitMessages = new FastHistogram({
      name: 'wa_store_commit_messages',
      help: 'Messages written by one store commit (the group-commit size)',
      buckets: BATCH_BUCKETS, registry,
    }).unlabelled;
    const reads = new FastHistogram<StoreReadOp>({
      name: 'wa_store_read_duration_seconds',
      help: 'One store read, by operation',
      buckets: STEP_BUCKETS_SECONDS, label: { name: 'op', values: STORE_READ_OPS }, registry,
    });
    this.reads = Object.fromEntries(STORE_READ_OPS.map((op) => [op, reads.child(op)])) as Record<StoreReadOp, HistogramSeries>;
    new CallbackMetric({
      name: 'wa_store_errors_total', help: 'Store calls that failed, by operation', type: 'counter', registry,
      read: () => labelled('op', STORE_OPS, this.errors),
    });
    new CallbackMetric({
      name: 'wa_store_info', help: 'The store engine in use (value 1)', type: 'gauge', registry,
      read: () => [[{ engine }, 1]],
    });
  }
}

export class InstrumentedStore implements MessageStore {
  readonly engine: string;

  constructor(private readonly inner: MessageStore, private readonly m: StoreMetrics) {
    this.engine = inner.engine;
  }

  private async timed<T>(series: HistogramSeries, op: string, call: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await call();
    } catch (err) {
      this.m.errors[op] = (this.m.errors[op] ?? 0) + 1;
      throw err;
    } finally {
      series.observe((performance.now() - t0) / 1000);
    }
  }

  commit(batch: CommitBatch): Promise<void> {
    this.m.commitMessages.observe(batch.messages.length);
    return this.timed(this.m.commitDuration, 'commit', () => this.inner.commit(batch));
  }

  loadChat(chatId: string, fence?: PartitionFence): Promise<ChatState | null> {
    return this.timed(this.m.reads.load_chat, 'load_chat', () => this.inner.loadChat(chatId, fence));
  }

  findByClientIds(keys: readonly ClientKey[]): Promise<Map<string, StoredMessage>> {
    return this.timed(this.m.reads.find_by_client_ids, 'find_by_client_ids', () => this.inner.findByClientIds(keys));
  }

  history(chatId: string, beforeId: number, limit: number): Promise<StoredMessage[]> {
    return this.timed(this.m.reads.history, 'history', () => this.inner.history(chatId, beforeId, limit));
  }

  messagesAfter(chatId: string, afterId: number, limit: number): Promise<StoredMessage[]> {
    return this.timed(this.m.reads.messages_after, 'messages_after', () => this.inner.messagesAfter(chatId, afterId, limit));
  }

  headAtOrBelow(chatId: string, upToId: number): Promise<{ id: number; seq: number } | null> {
    return this.timed(this.m.reads.head_at_or_below, 'head_at_or_below', () => this.inner.headAtOrBelow(chatId, upToId));
  }

  pendingChats(user: number): Promise<PendingChat[]> {
    return this.timed(this.m.reads.pending_chats, 'pending_chats', () => this.inner.pendingChats(user));
  }

  existingUsers(ids: readonly number[]): Promise<Set<number>> {
    return this.timed(this.m.reads.existing_users, 'existing_users', () => this.inner.existingUsers(ids));
  }

  getUser(id: number): Promise<UserRecord | null> {
    return this.timed(this.m.reads.get_user, 'get_user', () => this.inner.getUser(id));
  }

  // Control-path calls: not timed.
  /** The key directory, untimed for now (its calls are per session, not per message; docs/design/021-e2ee.md). */
  get keys(): KeyDirectory {
    return this.inner.keys;
  }

  setLastSeenPrivacy(user: number, value: number): Promise<void> {
    return this.inner.setLastSeenPrivacy(user, value);
  }

  sharedChatKinds(a: number, b: number): Promise<SharedChats> {
    return this.inner.sharedChatKinds(a, b);
  }

  registerUser(phone: string, displayName: string, nowMs: number): Promise<{ id: number; created: boolean }> {
    return this.inner.registerUser(phone, displayName, nowMs);
  }

  provisionUsers(first: number, count: number, nowMs: number): Promise<number> {
    return this.inner.provisionUsers(first, count, nowMs);
  }

  ensureUser(id: number, nowMs: number): Promise<void> {
    return this.inner.ensureUser(id, nowMs);
  }

  maxMessageId(): Promise<number> {
    return this.inner.maxMessageId();
  }

  get takeoverQuietMs(): number | undefined {
    return this.inner.takeoverQuietMs;
  }

  claimPartitions(partitions: readonly number[], token: number): Promise<number[]> {
    return this.inner.claimPartitions(partitions, token);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
