// Sends: a user's message becomes a stored message exactly once.
//
// Per 1:1 message on the steady path: one Map lookup for the client id, one for
// the recipient's pending count, one for the chat, one id, one row in the tick's
// commit, two effects (the sender's ack and the delivery). A retry of a client
// id already stored answers with the stored message and stores nothing.
import { invariant } from '../../lib/invariant';
import { spinUs } from '../common/debug-slowdown';
import { directChatId } from '../common/chat-id';
import { ErrorCode, ProtocolError } from '../common/errors';
import { isUserId } from '../common/validation';
import { ChatKind, clientKey, MessageKind, type ClientKey } from '../store/store';
import { cachedChat, newMember, type CachedChat } from './chat-state';
import { appendMessage, type EngineContext, type Tick } from './context';
import type { Op, SendOp } from './inbound';
import type { GatewayLinkRef } from './routes';

export class Sends<L extends GatewayLinkRef> {
  /** Test aid (server/common/debug-slowdown.ts): CPU µs burnt per accepted message; 0 in production. */
  debugSlowdownUs = 0;

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
        if (!ctx.clientIds.has(clientKey(op.state.user, cmid))) toLookUp.push({ sender: op.state.user, client_msg_id: cmid });
      } else {
        const users = op.kind === 'create' ? op.body.members : op.body.users;
        for (const u of users) if (isUserId(u) && !ctx.users.has(u)) unknown.add(u);
      }
    }
    if (unknown.size > 0) for (const id of await ctx.store.existingUsers([...unknown])) ctx.users.remember(id);
    if (toLookUp.length > 0) {
      for (const [key, msg] of await ctx.store.findByClientIds(toLookUp)) ctx.clientIds.remember(key, msg);
    }
  }

  /** Store one send (or answer a retry with what was stored); ProtocolError when it is refused. */
  async accept(s: SendOp<L>, tick: Tick<L>): Promise<void> {
    const { ctx } = this;
    const from = s.state.user;
    invariant(s.send.client_msg_id.length > 0 && (s.send.chat_id.length > 0 || isUserId(s.send.to_user)), 'sends are validated at the edge');
    if (!s.send.chat_id && s.send.to_user === from) throw new ProtocolError(ErrorCode.SELF_SEND, 'cannot send a message to yourself');
    const key = clientKey(from, s.send.client_msg_id);
    const earlier = ctx.clientIds.get(key);
    if (earlier) {
      ctx.stats.duplicatesSuppressed++;
      tick.afterCommit.push({ t: 'sent', to: s.state, ref: s.ref, msg: earlier });
      return;
    }
    const { chat, recipients } = s.send.chat_id ? await this.groupTarget(s) : await this.directTarget(s, tick);
    if (this.debugSlowdownUs > 0) spinUs(this.debugSlowdownUs);
    const msg = appendMessage(ctx, tick, chat, from, s.send.client_msg_id, s.send.body, MessageKind.User);
    if (s.send.chat_id) ctx.stats.sendsGroup++;
    else ctx.stats.sendsDirect++;
    ctx.clientIds.remember(key, msg);
    tick.afterCommit.push({ t: 'sent', to: s.state, ref: s.ref, msg });
    tick.afterCommit.push({ t: 'message', msg, users: recipients, recvAtUs: s.recv_at_us });
  }

  private async groupTarget(s: SendOp<L>): Promise<{ chat: CachedChat; recipients: number[] }> {
    const from = s.state.user;
    const chat = await this.ctx.chats.memberChat(s.send.chat_id, from, ChatKind.Group);
    const recipients: number[] = [];
    for (const u of chat.members.keys()) if (u !== from) recipients.push(u);
    return { chat, recipients };
  }

  private async directTarget(s: SendOp<L>, tick: Tick<L>): Promise<{ chat: CachedChat; recipients: number[] }> {
    const { ctx } = this;
    const from = s.state.user;
    const to = s.send.to_user;
    if (!ctx.users.has(to)) throw new ProtocolError(ErrorCode.UNKNOWN_USER, `user ${to} does not exist`);
    // Cache hits stay synchronous: an await per message costs a promise and a microtask turn.
    const pending = ctx.pending.cached(to) ?? (await ctx.pending.of(to));
    const max = ctx.limits.offline_queue_messages_max;
    if (pending >= max) throw new ProtocolError(ErrorCode.QUEUE_FULL, `user ${to} has offline_queue_messages_max=${max} undelivered messages`);
    const chat = ctx.chats.cached(directChatId(from, to)) ?? (await this.directChat(from, to, tick));
    ctx.pending.add(to, 1);
    return { chat, recipients: [to] };
  }

  /** The 1:1 chat of a and b, created (and staged in the tick's commit) on their first message. */
  private async directChat(a: number, b: number, tick: Tick<L>): Promise<CachedChat> {
    const chatId = directChatId(a, b);
    const existing = await this.ctx.chats.get(chatId);
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
