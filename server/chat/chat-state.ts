// A chat as the engine holds it in memory: the stored state (head, members and
// their watermarks) plus a small ring of its newest messages, and the pure
// operations on it. Watermarks only ever move forward: every move goes through
// advanceDelivered/advanceRead, which assert it.
import { partitionOf } from '../common/chat-id';
import { invariant } from '../../lib/invariant';
import { ReceiptKind } from '../common/protocol';
import { MessageKind, type ChatState, type MemberState } from '../store/store';

export interface CachedChat extends ChatState {
  /** The last few (id, seq, sender) of the chat, newest last: resolves acks without a store read. */
  recent: RecentEntry[];
  /** Groups: the aggregate watermarks already announced to senders (every member has / has read up to). */
  aggDeliveredId: number;
  aggReadId: number;
  /** The chat's partition (server/common/chat-id.ts: partitionOf): its message ids come from that lane. */
  partition: number;
}

export interface RecentEntry {
  id: number;
  seq: number;
  sender: number;
  kind: number;
}

/** A watermark range that moved for every member of a group: senders of (from, upTo] hear it. */
export interface AggregateMove {
  kind: number;
  from: number;
  upTo: number;
}

export function cachedChat(state: ChatState): CachedChat {
  return { ...state, recent: [], aggDeliveredId: 0, aggReadId: 0, partition: partitionOf(state.chat_id) };
}

export function newMember(user: number, admin: boolean): MemberState {
  return { user, delivered_id: 0, delivered_seq: 0, read_id: 0, joined_seq: 0, admin };
}

export function pushRecent(chat: CachedChat, entry: RecentEntry, recentMax: number): void {
  if (chat.recent.length === recentMax) chat.recent.shift();
  chat.recent.push(entry);
}

/** The newest recent entry at or below `id`; undefined when the ring does not reach back that far (ask the store). */
export function recentAtOrBelow(chat: CachedChat, id: number): RecentEntry | undefined {
  const r = chat.recent;
  if (r.length === 0 || r[0]!.id > id) return undefined;
  for (let i = r.length - 1; i >= 0; i--) if (r[i]!.id <= id) return r[i]!;
  return undefined;
}

export function advanceDelivered(member: MemberState, id: number, seq: number): void {
  invariant(seq > member.delivered_seq, 'a delivered watermark only moves forward (seq)');
  invariant(id >= member.delivered_id, 'a delivered watermark only moves forward (id)');
  member.delivered_id = id;
  member.delivered_seq = seq;
}

export function advanceRead(member: MemberState, id: number): void {
  invariant(id > member.read_id, 'a read watermark only moves forward');
  member.read_id = id;
}

/** After an ack, step the watermark over the member's own messages that follow it. */
export function rollOverOwn(chat: CachedChat, member: MemberState): void {
  for (const r of chat.recent) {
    if (r.seq !== member.delivered_seq + 1) continue;
    if (r.sender !== member.user) break;
    advanceDelivered(member, r.id, r.seq);
  }
}

/**
 * Groups: senders hear "delivered" (or "read") once EVERY current member has
 * the message, as one aggregate watermark - not one receipt per member per
 * message. The aggregate is the minimum member watermark: O(members) per moved
 * chat per tick, never a scan of messages. Returns the ranges that moved since
 * the last call and records them as announced.
 */
export function aggregateMoves(chat: CachedChat): AggregateMove[] {
  let delivered = Infinity;
  let read = Infinity;
  for (const m of chat.members.values()) {
    if (m.delivered_id < delivered) delivered = m.delivered_id;
    if (m.read_id < read) read = m.read_id;
  }
  if (delivered === Infinity) return [];
  const moves: AggregateMove[] = [];
  if (delivered > chat.aggDeliveredId) {
    moves.push({ kind: ReceiptKind.DELIVERED, from: chat.aggDeliveredId, upTo: delivered });
    chat.aggDeliveredId = delivered;
  }
  if (read > chat.aggReadId) {
    moves.push({ kind: ReceiptKind.READ, from: chat.aggReadId, upTo: read });
    chat.aggReadId = read;
  }
  return moves;
}

/** Senders of user messages in (from, upTo] from the recent ring; null when the ring does not reach back to `from` (ask the store). */
export function recentSenders(chat: CachedChat, move: AggregateMove): Set<number> | null {
  const first = chat.recent[0];
  if (!first || first.id > move.from + 1) return null;
  const senders = new Set<number>();
  for (const e of chat.recent) if (e.kind === MessageKind.User && e.id > move.from && e.id <= move.upTo) senders.add(e.sender);
  return senders;
}
