// Sends: a user's message becomes a stored message exactly once.
//
// Per 1:1 message on the steady path: one Map lookup for the client id, one for
// the recipient's pending count, one for the chat, one id, one row in the tick's
// commit, two effects (the sender's ack and the delivery). A retry of a client
// id already stored answers with the stored message and stores nothing.
import { invariant } from '../../lib/invariant';
import { burnWork, spinUs } from '../common/debug-slowdown';
import { directChatId } from '../common/chat-id';
import { ErrorCode, ProtocolError } from '../common/errors';
import { isUserId } from '../common/validation';
import { ChatKind, clientKey, MessageKind, type ClientKey } from '../store/store';
import { cachedChat, newMember, type CachedChat } from './chat-state';
import { appendMessage, type EngineContext, type Tick } from './context';
import type { Op, SendOp } from './inbound';
import type { GatewayLinkRef } from './routes';

/** Where a send goes: its chat and who gets it live. */
interface Target {
  chat: CachedChat;
  recipients: number[];
}

export class Sends<L extends GatewayLinkRef> {
  /** Test aid (server/common/debug-slowdown.ts): CPU µs burnt per accepted message; 0 in production. */
  debugSlowdownUs = 0;
  /** Test aid (server/common/debug-slowdown.ts): work units burnt per accepted message; 0 in production. */
  debugSlowdownWork = 0;

  constructor(private readonly ctx: EngineContext<L>) {}

  /**
   * Before a tick's ops run: which users they name exist, and which client ids
   * were already stored, in one store round each (not one per op).
   */
  async prefetch(ops: readonly Op<L>[]): Promise<void> {
    const { ctx } = this;
    const unknown = new Set<number>();
    const toLookUp: ClientKey[] = [];
    for (const op of ops) {
      if (op.kind === 'send') {
        const to = op.send.to_user;
        if (!op.send.chat_id && !ctx.users.has(to)) unknown.add(to);
        const cmid = op.send.client_msg_id;
        op.key = clientKey(op.state.user, cmid);
        if (!ctx.clientIds.has(op.key)) toLookUp.push({ sender: op.state.user, client_msg_id: cmid });
      } else {
        const users = op.kind === 'create' ? op.body.members : op.body.users;
        for (const u of users) if (isUserId(u) && !ctx.users.has(u)) unknown.add(u);
      }
    }
    if (unknown.size > 0) for (const id of await ctx.store.existingUsers([...unknown])) ctx.users.remember(id);
    if (toLookUp.length > 0) {
      for (const [key, msg] of await ctx.store.findByClientIds(toLookUp)) ctx.clientIds.remember(key, msg);
    }
    await this.warm(ops);
  }

  /**
   * The tick's cold reads side by side: the chats and the recipients' pending counts its new sends need and the
   * caches lack. accept() would read them one send after another; on a networked store that is two round trips per
   * first message in a row, and a cold start of a few hundred users took seconds (docs/design/005, "cold start").
   * Nothing is read for a retry, an unknown recipient or a self-send (refused before any read).
   */
  private async warm(ops: readonly Op<L>[]): Promise<void> {
    const { ctx } = this;
    let reads: Promise<unknown>[] | null = null;
    for (const op of ops) {
      if (op.kind !== 'send' || ctx.clientIds.has(op.key)) continue;
      const { chat_id: groupId, to_user: to } = op.send;
      if (groupId) {
        if (!ctx.chats.cached(groupId)) (reads ??= []).push(ctx.chats.get(groupId));
        continue;
      }
      if (to === op.state.user || !ctx.users.has(to)) continue;
      if (ctx.pending.cached(to) === undefined) (reads ??= []).push(ctx.pending.of(to));
      const chatId = (op.chatId = directChatId(op.state.user, to));
      if (ctx.chats.cached(chatId)) continue;
      (reads ??= []).push(ctx.chats.get(chatId).then((chat) => {
        op.chatAbsent = chat === null;
      }));
    }
    if (reads) await Promise.all(reads);
  }

  /** Store one send (or answer a retry with what was stored); ProtocolError when it is refused. */
  async accept(s: SendOp<L>, tick: Tick<L>): Promise<void> {
    const { ctx } = this;
    const from = s.state.user;
    invariant(s.send.client_msg_id.length > 0 && (s.send.chat_id.length > 0 || isUserId(s.send.to_user)), 'sends are validated at the edge');
    if (!s.send.chat_id && s.send.to_user === from) throw new ProtocolError(ErrorCode.SELF_SEND, 'cannot send a message to yourself');
    const key = s.key;
    invariant(key.length > 0, 'a send is prefetched before it is accepted');
    const earlier = ctx.clientIds.get(key);
    if (earlier) {
      ctx.stats.duplicatesSuppressed++;
      tick.afterCommit.push({ t: 'sent', to: s.state, ref: s.ref, msg: earlier });
      return;
    }
    // A 1:1 send to a cached chat stays synchronous: an await per message costs a promise and a microtask turn.
    const target = s.send.chat_id ? this.groupTarget(s) : this.directTarget(s, tick);
    const { chat, recipients } = target instanceof Promise ? await target : target;
    if (this.debugSlowdownUs > 0) spinUs(this.debugSlowdownUs);
    if (this.debugSlowdownWork > 0) burnWork(this.debugSlowdownWork);
    const msg = appendMessage(ctx, tick, chat, from, s.send.client_msg_id, s.send.body, MessageKind.User);
    if (s.send.chat_id) ctx.stats.sendsGroup++;
    else ctx.stats.sendsDirect++;
    ctx.clientIds.remember(key, msg);
    tick.afterCommit.push({ t: 'sent', to: s.state, ref: s.ref, msg });
    tick.afterCommit.push({ t: 'message', msg, users: recipients, recvAtUs: s.recv_at_us });
  }

  /** The group and its other members, synchronously when the group is cached. */
  private groupTarget(s: SendOp<L>): Target | Promise<Target> {
    const chats = this.ctx.chats;
    const cached = chats.memberChatCached(s.send.chat_id, s.state.user, ChatKind.Group);
    if (cached) return groupRecipients(cached, s.state.user);
    return chats.memberChat(s.send.chat_id, s.state.user, ChatKind.Group).then((chat) => groupRecipients(chat, s.state.user));
  }

  /** The recipient's chat, synchronously when its pending count and chat are cached (the steady path). */
  private directTarget(s: SendOp<L>, tick: Tick<L>): Target | Promise<Target> {
    const { ctx } = this;
    const to = s.send.to_user;
    if (!ctx.users.has(to)) throw new ProtocolError(ErrorCode.UNKNOWN_USER, `user ${to} does not exist`);
    const pending = ctx.pending.cached(to);
    const chat = ctx.chats.cached(s.chatId || directChatId(s.state.user, to));
    if (pending === undefined || chat === undefined) return this.directTargetLoaded(s, tick);
    return this.takeQueueSlot(to, pending, chat);
  }

  private async directTargetLoaded(s: SendOp<L>, tick: Tick<L>): Promise<Target> {
    const to = s.send.to_user;
    this.checkQueue(to, await this.ctx.pending.of(to)); // before the chat is created: a refused send stores nothing
    const chatId = s.chatId || directChatId(s.state.user, to);
    const chat = this.ctx.chats.cached(chatId) ?? (await this.directChat(chatId, s.state.user, to, tick, s.chatAbsent));
    this.ctx.pending.add(to, 1);
    return { chat, recipients: [to] };
  }

  private takeQueueSlot(to: number, pending: number, chat: CachedChat): Target {
    this.checkQueue(to, pending);
    this.ctx.pending.add(to, 1);
    return { chat, recipients: [to] };
  }

  /** QUEUE_FULL past offline_queue_messages_max undelivered messages for `to`. */
  private checkQueue(to: number, pending: number): void {
    const max = this.ctx.limits.offline_queue_messages_max;
    if (pending >= max) throw new ProtocolError(ErrorCode.QUEUE_FULL, `user ${to} has offline_queue_messages_max=${max} undelivered messages`);
  }

  /** The 1:1 chat of a and b (`chatId`), created (and staged in the tick's commit) on their first message; `absent`: the tick's prefetch found none. */
  private async directChat(chatId: string, a: number, b: number, tick: Tick<L>, absent: boolean): Promise<CachedChat> {
    const existing = absent ? null : await this.ctx.chats.get(chatId);
    if (existing) return existing;
    const chat = cachedChat({
      chat_id: chatId, kind: ChatKind.Direct, last_id: 0, last_seq: 0, name: '', created_by: 0,
      members: new Map([[a, newMember(a, false)], [b, newMember(b, false)]]),
    });
    this.ctx.chats.add(chat);
    tick.batch.new_chats.push({ chat_id: chatId, kind: ChatKind.Direct, last_id: 0, last_seq: 0, members: chat.members, name: '', created_by: 0 });
    return chat;
  }
}

function groupRecipients(chat: CachedChat, from: number): Target {
  const recipients: number[] = [];
  for (const u of chat.members.keys()) if (u !== from) recipients.push(u);
  return { chat, recipients };
}
