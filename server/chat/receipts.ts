// Receipts: cumulative acknowledgements in, watermark receipts out.
//
// A client acks "delivered up to id X (and read up to Y) in chat C", coalesced
// over a few milliseconds. Per ack frame: one watermark move (O(1), never a
// scan of the chat) and, in a 1:1 chat, one receipt to the other member. In a
// group, senders hear one aggregate receipt (user 0) when EVERY member has a
// message (chat-state.ts: aggregateMoves), not one receipt per member.
import { ErrorCode, ProtocolError } from '../common/errors';
import { ReceiptKind } from '../common/protocol';
import { ChatKind, MessageKind, type MemberState } from '../store/store';
import { advanceDelivered, advanceRead, aggregateMoves, recentAtOrBelow, recentSenders, rollOverOwn, type CachedChat } from './chat-state';
import { replyError, type EngineContext, type Tick } from './context';
import type { Effect } from './effects';
import type { AckIn } from './inbound';
import type { GatewayLinkRef } from './routes';

export class Receipts<L extends GatewayLinkRef> {
  constructor(
    private readonly ctx: EngineContext<L>,
    /** `user`'s delivered watermark in `chatId` moved to `deliveredId` (its drain may be waiting for it). */
    private readonly onDelivered: (user: number, chatId: string, deliveredId: number) => void,
  ) {}

  /** Apply a tick's acks; the receipts they cause wait for the tick's commit (tick.afterCommit). */
  async apply(acks: readonly AckIn<L>[], tick: Tick<L>): Promise<void> {
    const groupsMoved = new Set<CachedChat>();
    for (const a of acks) {
      // Cache hits stay synchronous: an await per ack costs a promise and a microtask turn.
      const chat = this.ctx.chats.cached(a.ack.chat_id) ?? (await this.ctx.chats.get(a.ack.chat_id));
      if (!chat || !chat.members.has(a.state.user)) {
        replyError(this.ctx, a.state, a.ref, new ProtocolError(ErrorCode.NOT_A_PARTICIPANT, `not a participant of ${a.ack.chat_id}`));
        continue;
      }
      const member = chat.members.get(a.state.user)!;
      const read = Math.min(a.ack.read_up_to || 0, chat.last_id);
      const delivered = Math.min(Math.max(a.ack.delivered_up_to || 0, read), chat.last_id);
      let head: { id: number; seq: number } | null = null;
      if (delivered > member.delivered_id) {
        head = recentAtOrBelow(chat, delivered) ?? (await this.ctx.store.headAtOrBelow(chat.chat_id, delivered));
      }
      if (this.applyOne(a, chat, member, head, read, tick) && chat.kind === ChatKind.Group) groupsMoved.add(chat);
    }
    for (const chat of groupsMoved) tick.afterCommit.push(...(await aggregateReceipts(this.ctx, chat)));
  }

  /** One ack, with the newest message at or below its delivered mark (`head`): returns whether a watermark moved. */
  private applyOne(a: AckIn<L>, chat: CachedChat, member: MemberState, head: { id: number; seq: number } | null, read: number, tick: Tick<L>): boolean {
    const user = a.state.user;
    const direct = chat.kind === ChatKind.Direct;
    let moved = false;
    if (head && head.seq > member.delivered_seq) {
      const before = member.delivered_seq;
      advanceDelivered(member, head.id, head.seq);
      rollOverOwn(chat, member);
      if (direct) {
        this.ctx.pending.add(user, before - member.delivered_seq);
        tick.afterCommit.push(this.receipt(chat, user, ReceiptKind.DELIVERED, head.id));
      }
      moved = true;
    }
    if (read > member.read_id) {
      advanceRead(member, read);
      moved = true;
      if (direct) tick.afterCommit.push(this.receipt(chat, user, ReceiptKind.READ, read));
    }
    if (moved) this.ctx.watermarks.mark(chat.chat_id, member);
    this.onDelivered(user, chat.chat_id, member.delivered_id);
    return moved;
  }

  /** A 1:1 receipt: every other member of the chat hears it. */
  private receipt(chat: CachedChat, user: number, kind: number, upTo: number): Effect<L> {
    const users: number[] = [];
    for (const m of chat.members.keys()) if (m !== user) users.push(m);
    return { t: 'receipt', chatId: chat.chat_id, user, kind, upTo, users };
  }
}

/**
 * The group receipts due since the last announcement: one per moved range
 * (delivered, read), heard by the senders of the messages in it, found in the
 * recent ring or, when the range reaches behind it, in the store (bounded by
 * aggregate_scan_messages_max).
 */
export async function aggregateReceipts<L extends GatewayLinkRef>(ctx: EngineContext<L>, chat: CachedChat): Promise<Effect<L>[]> {
  const out: Effect<L>[] = [];
  for (const move of aggregateMoves(chat)) {
    let senders = recentSenders(chat, move);
    if (!senders) {
      senders = new Set<number>();
      for (const m of await ctx.store.messagesAfter(chat.chat_id, move.from, ctx.limits.aggregate_scan_messages_max)) {
        if (m.id > move.upTo) break;
        if (m.kind === MessageKind.User) senders.add(m.sender);
      }
    }
    out.push({ t: 'receipt', chatId: chat.chat_id, user: 0, kind: move.kind, upTo: move.upTo, users: [...senders] });
  }
  return out;
}
