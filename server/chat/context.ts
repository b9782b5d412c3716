// What the engine's parts share: the store, the limits, the id generator, the
// caches, the routes, the watermark writer, the counters and the effect sink;
// and what one tick gathers (its commit batch and the effects that wait for
// the commit). Each part (sends.ts, groups.ts, receipts.ts, drains.ts,
// presence.ts, queries.ts) gets this context and owns one kind of decision.
import type { Limits } from '../common/config';
import { partitionOf } from '../common/chat-id';
import { ErrorCode, ProtocolError } from '../common/errors';
import type { PartitionIds } from '../common/ids';
import type { CommitBatch, MessageStore, StoredMessage } from '../store/store';
import { ChatCache, ClientIdCache, KnownUsers, PendingCounts } from './caches';
import { advanceDelivered, advanceRead, pushRecent, type CachedChat } from './chat-state';
import type { Effect, EffectSink } from './effects';
import type { ConnState, GatewayLinkRef, RouteRegistry } from './routes';
import type { EngineStats } from './stats';
import type { PartitionGate } from './partition-gate';
import type { Watermarks } from './watermarks';

export interface EngineContext<L extends GatewayLinkRef> {
  readonly store: MessageStore;
  readonly limits: Limits;
  readonly ids: PartitionIds;
  readonly now: () => number;
  readonly routes: RouteRegistry<L>;
  readonly chats: ChatCache;
  readonly clientIds: ClientIdCache;
  readonly users: KnownUsers;
  readonly pending: PendingCounts;
  readonly watermarks: Watermarks;
  readonly stats: EngineStats;
  readonly out: EffectSink<L>;
  /** Log a line (drain steps when WA_DEBUG_DRAIN=1); null when off. */
  readonly debugLog: ((line: string) => void) | null;
  /** One of several chat nodes: the partitions served here (null: all, the single-process default). */
  readonly gate: PartitionGate | null;
}

/** One tick's writes, and what it may tell only once they are durable. */
export interface Tick<L extends GatewayLinkRef> {
  readonly nowMs: number;
  readonly batch: CommitBatch;
  /** Emitted in order after the commit: acks, deliveries, receipts of group changes. */
  readonly afterCommit: Effect<L>[];
}

export function newCaches(store: MessageStore, limits: Limits, gate: PartitionGate | null = null) {
  return {
    chats: new ChatCache(store, limits, gate ? (chatId) => {
      const partition = partitionOf(chatId);
      const token = gate.token(partition);
      return token > 0 ? { partition, token } : undefined;
    } : undefined),
    clientIds: new ClientIdCache(limits.client_ids_cached_max),
    users: new KnownUsers(limits.known_users_cached_max),
    pending: new PendingCounts(store, limits.chat_cache_entries_max),
  };
}

/**
 * Give the next id and seq of `chat` to a new message (or system event) and
 * stage it in the tick's batch. The sender has its own message: if it was
 * caught up, its watermarks move with it.
 */
export function appendMessage<L extends GatewayLinkRef>(
  ctx: EngineContext<L>, tick: Tick<L>, chat: CachedChat, from: number, cmid: string, body: Uint8Array, kind: number,
): StoredMessage {
  const id = ctx.ids.next(chat.partition);
  const seq = chat.last_seq + 1;
  chat.last_id = id;
  chat.last_seq = seq;
  pushRecent(chat, { id, seq, sender: from, kind }, ctx.limits.recent_messages_per_chat_max);
  const msg: StoredMessage = { id, chat_id: chat.chat_id, seq, sender: from, client_msg_id: cmid, body, sent_at_ms: tick.nowMs, kind };
  tick.batch.messages.push(msg);
  const own = chat.members.get(from);
  if (own && own.delivered_seq === seq - 1) {
    advanceDelivered(own, id, seq);
    if (id > own.read_id) advanceRead(own, id);
    ctx.watermarks.mark(chat.chat_id, own);
  }
  return msg;
}

/** Answer one frame with an error: a ProtocolError's code, INTERNAL for anything else (counted by code). */
export function replyError<L extends GatewayLinkRef>(ctx: EngineContext<L>, to: ConnState<L>, ref: number, err: unknown): void {
  const code = err instanceof ProtocolError ? err.code : ErrorCode.INTERNAL;
  const message = err instanceof Error ? err.message : String(err);
  ctx.stats.errors[code] = (ctx.stats.errors[code] ?? 0) + 1;
  ctx.out.emit({ t: 'error', to, ref, code, message });
}
