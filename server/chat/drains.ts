// Offline-queue drains. A connecting user first receives everything it
// missed, oldest first, one page at a time: the next page leaves when the
// client has acked the last one (flow control by acks), and at most
// drain_concurrent_max users drain at once (a reconnect flood queues instead
// of stampeding the store). Live messages for a draining user are held back
// and picked up by the drain, so per-chat order holds across the switch.
// A member removed from a group (or leaving it) while its drain runs is still
// owed what was held back for it there: the group's messages up to the event
// that ended its membership. The drain keeps that range (a "final" chat) for
// as long as the connection lasts; a removed member that disconnects before
// its drain ends does not get it on its next connect (docs/design/004).
import { invariant } from '../../lib/invariant';
import { partitionOf } from '../common/chat-id';
import { idFloorForTime } from '../common/ids';
import type { StoredMessage } from '../store/store';
import { advanceDelivered } from './chat-state';
import type { EngineContext } from './context';
import type { ConnState, GatewayLinkRef } from './routes';

interface Drain<L extends GatewayLinkRef> {
  user: number;
  conn: ConnState<L>;
  active: boolean;
  /** chat -> highest id sent in the current page and not yet acked. */
  outstanding: Map<string, number>;
  sent: number;
  deadlineMs: number;
  /** Chats the user is no longer a member of: chat -> what is still owed (after afterId, up to upToId). */
  final: Map<string, FinalChat>;
}

/** What a drain still owes a member who left or was removed mid-drain: the messages up to the event that ended it. */
interface FinalChat {
  /** The last message the client has, acked or sent in a page. */
  afterId: number;
  /** The event that ended the membership (the newest message the user may see). */
  upToId: number;
}

interface GoneMember {
  user: number;
  chatId: string;
  deliveredId: number;
  upToId: number;
}

export class Drains<L extends GatewayLinkRef> {
  private readonly byUser = new Map<number, Drain<L>>();
  private readonly queue: Drain<L>[] = [];
  private active = 0;
  /** Members gone in the current tick, kept only once its commit has stored the change (membersGoneCommitted). */
  private gonePending: GoneMember[] = [];

  constructor(
    private readonly ctx: EngineContext<L>,
    /** Ask for another tick (a drain has more to do although no gateway sent anything). */
    private readonly kick: () => void,
  ) {}

  isDraining(user: number): boolean {
    return this.byUser.has(user);
  }

  /** A connection opened: queue its drain (replacing one its user already had). */
  start(state: ConnState<L>): void {
    this.ctx.debugLog?.(`chat: drain user=${state.user} conn=${state.conn} start`);
    if (this.ctx.routes.conn(state.link, state.conn) !== state) return; // closed in the same tick
    const existing = this.byUser.get(state.user);
    if (existing) this.end(existing);
    const drain: Drain<L> = { user: state.user, conn: state, active: false, outstanding: new Map(), sent: 0, deadlineMs: 0, final: new Map() };
    this.byUser.set(state.user, drain);
    this.queue.push(drain);
  }

  /** A connection closed: its drain (if it was this connection's) ends. */
  connectionClosed(state: ConnState<L>): void {
    const drain = this.byUser.get(state.user);
    if (drain && drain.conn === state) this.end(drain);
  }

  /** The user's delivered watermark in a chat moved: the page it was waiting for there may be acked. */
  delivered(user: number, chatId: string, deliveredId: number): void {
    const drain = this.byUser.get(user);
    if (!drain) return;
    const outstanding = drain.outstanding.get(chatId);
    if (outstanding !== undefined && deliveredId >= outstanding) drain.outstanding.delete(chatId);
  }

  /**
   * A user left or was removed in this tick: if it is draining, stop waiting for its ack in that chat and,
   * once the tick's commit stored the change, page what it is still owed there (up to upToId).
   */
  memberGone(user: number, chatId: string, deliveredId: number, upToId: number): void {
    if (this.byUser.has(user)) this.gonePending.push({ user, chatId, deliveredId, upToId });
  }

  /** The tick's commit is done: `stored`, the membership changes are real (else they never happened). */
  membersGoneCommitted(stored: boolean): void {
    const gone = this.gonePending;
    if (gone.length === 0) return;
    this.gonePending = [];
    if (!stored) return;
    for (const g of gone) {
      const drain = this.byUser.get(g.user);
      if (!drain) continue;
      // What the client already has: acked, or sent in the page it has not acked yet.
      const afterId = Math.max(g.deliveredId, drain.outstanding.get(g.chatId) ?? 0);
      drain.outstanding.delete(g.chatId);
      if (afterId < g.upToId) drain.final.set(g.chatId, { afterId, upToId: g.upToId });
    }
  }

  /** Admit queued drains into free slots and send the next page of every drain whose last page was acked. */
  async step(nowMs: number): Promise<void> {
    const max = this.ctx.limits.drain_concurrent_max;
    // Drains that finish at once (nothing pending: the common case) free their
    // slot in this same tick, so keep admitting queued ones; bounded per tick.
    for (let round = 0; round < this.ctx.limits.drain_rounds_per_tick_max; round++) {
      while (this.active < max && this.queue.length > 0) {
        const next = this.queue.shift()!;
        if (this.byUser.get(next.user) !== next) continue;
        next.active = true;
        this.active++;
      }
      invariant(this.active <= max, 'active drains within drain_concurrent_max');
      for (const drain of [...this.byUser.values()]) {
        if (!drain.active || drain.outstanding.size > 0) continue;
        await this.sendPage(drain, nowMs);
      }
      if (this.queue.length === 0 || this.active >= max) return;
    }
    this.kick();
  }

  private async sendPage(drain: Drain<L>, nowMs: number): Promise<void> {
    const { ctx } = this;
    const ttlFloorId = idFloorForTime(nowMs - ctx.limits.offline_queue_ttl_seconds * 1000);
    // One of several chat nodes: only chats in partitions served here (the others' owners drain theirs).
    const gate = ctx.gate;
    const all = await ctx.store.pendingChats(drain.user);
    const pending = gate ? all.filter((p) => gate.serves(partitionOf(p.chat_id))) : all;
    pending.sort((x, y) => x.delivered_id - y.delivered_id);
    const page: StoredMessage[] = [];
    let moved = false;
    for (const p of pending) {
      if (page.length === ctx.limits.drain_page_messages_max) break;
      if (await this.pageChat(drain, p.chat_id, ttlFloorId, page)) moved = true;
    }
    for (const [chatId, owed] of drain.final) {
      if (page.length === ctx.limits.drain_page_messages_max) break;
      await this.pageFinal(drain, chatId, owed, ttlFloorId, page);
    }
    invariant(page.length <= ctx.limits.drain_page_messages_max, 'a drain page within drain_page_messages_max');
    if (page.length > 0) {
      ctx.debugLog?.(`chat: drain user=${drain.user} conn=${drain.conn.conn} page=${page.length} chats=${[...drain.outstanding.keys()].join(',')}`);
      ctx.out.emit({ t: 'replay', to: drain.conn, msgs: page });
      drain.sent += page.length;
      ctx.stats.deliveriesReplayed += page.length;
      drain.deadlineMs = nowMs + ctx.limits.drain_ack_timeout_ms;
      // A page of chats the user has left waits for no ack: look again next tick.
      if (drain.outstanding.size === 0) this.kick();
      return;
    }
    if (moved && pending.length > 0) {
      this.kick(); // watermarks moved without sending: look again next tick
      return;
    }
    ctx.debugLog?.(`chat: drain user=${drain.user} done sent=${drain.sent}`);
    ctx.out.emit({ t: 'drain_done', to: drain.conn, messages: drain.sent });
    ctx.stats.drainsCompleted++;
    this.end(drain);
  }

  /** Add one chat's missed messages to the page; returns whether the watermark moved without sending (nothing deliverable). */
  private async pageChat(drain: Drain<L>, chatId: string, ttlFloorId: number, page: StoredMessage[]): Promise<boolean> {
    const { ctx } = this;
    const chat = await ctx.chats.get(chatId);
    const member = chat?.members.get(drain.user);
    if (!chat || !member) return false;
    const budget = ctx.limits.drain_page_messages_max - page.length;
    const rows = await ctx.store.messagesAfter(chat.chat_id, Math.max(member.delivered_id, ttlFloorId - 1), budget);
    let lastSent = 0;
    for (const m of rows) {
      if (m.sender === drain.user) continue;
      page.push(m);
      lastSent = m.id;
    }
    if (lastSent > 0) {
      drain.outstanding.set(chat.chat_id, lastSent);
      return false;
    }
    if (rows.length === 0 && member.delivered_id >= ttlFloorId - 1) return false;
    // Nothing to deliver (own messages, or everything expired): move the
    // watermark past it without waiting for the client.
    const head = rows.length > 0 ? rows[rows.length - 1]! : await ctx.store.headAtOrBelow(chat.chat_id, chat.last_id);
    if (!head || head.seq <= member.delivered_seq) return false;
    ctx.pending.add(drain.user, member.delivered_seq - head.seq);
    advanceDelivered(member, head.id, head.seq);
    ctx.watermarks.mark(chat.chat_id, member);
    return true;
  }

  /**
   * Add what a former member is still owed in a chat to the page. Its acks there are refused (it is not a
   * member), so these pages are not paced by acks: the range is bounded by the event that ended it.
   */
  private async pageFinal(drain: Drain<L>, chatId: string, owed: FinalChat, ttlFloorId: number, page: StoredMessage[]): Promise<void> {
    const budget = this.ctx.limits.drain_page_messages_max - page.length;
    const rows = await this.ctx.store.messagesAfter(chatId, Math.max(owed.afterId, ttlFloorId - 1), budget);
    for (const m of rows) {
      if (m.id > owed.upToId) break;
      owed.afterId = m.id;
      if (m.sender !== drain.user) page.push(m);
    }
    if (owed.afterId >= owed.upToId || rows.length < budget) drain.final.delete(chatId);
  }

  private end(drain: Drain<L>): void {
    if (this.byUser.get(drain.user) === drain) this.byUser.delete(drain.user);
    if (drain.active) {
      drain.active = false;
      this.active--;
      invariant(this.active >= 0, 'active drains never below zero');
    }
  }

  /** A client that stops acking mid-drain gives its slot back; the rest waits for its next connect. */
  expire(nowMs: number): void {
    for (const drain of this.byUser.values()) {
      if (drain.active && drain.outstanding.size > 0 && drain.deadlineMs < nowMs) this.end(drain);
    }
    if (this.queue.length > 0 && this.active < this.ctx.limits.drain_concurrent_max) this.kick();
  }

  counts(): { active: number; queued: number } {
    return { active: this.active, queued: this.queue.length };
  }
}
