// Queries: answers that read and change nothing - a chat's history (cursor
// pages, newest first, bounded by history_page_max; a member sees nothing from
// before it joined), a group's info, and who has a message (per-member
// delivered/read from the watermarks: O(members), no scan).
import { invariant } from '../../lib/invariant';
import { ErrorCode, ProtocolError } from '../common/errors';
import type { ClientFrame } from '../common/protocol';
import { ChatKind } from '../store/store';
import { replyError, type EngineContext } from './context';
import type { HistoryIn, Query } from './inbound';
import type { GatewayLinkRef } from './routes';

export class Queries<L extends GatewayLinkRef> {
  constructor(private readonly ctx: EngineContext<L>) {}

  async history({ state, ref, req }: HistoryIn<L>): Promise<void> {
    const { ctx } = this;
    invariant(req.chat_id.length > 0, 'history requests are validated at the edge');
    const chat = await ctx.chats.get(req.chat_id);
    const member = chat?.members.get(state.user);
    if (!chat || !member) {
      // Same answer for "no such chat" and "not yours": do not reveal which chats exist.
      replyError(ctx, state, ref, new ProtocolError(ErrorCode.NOT_A_PARTICIPANT, `not a participant of ${req.chat_id}`));
      return;
    }
    const max = ctx.limits.history_page_max;
    const limit = Math.min(req.limit || max, max);
    const rows = await ctx.store.history(chat.chat_id, req.before_id || 0, limit);
    const visible = rows.filter((m) => m.seq > member.joined_seq);
    const full = rows.length === limit && visible.length === rows.length;
    ctx.out.emit({ t: 'history', to: state, ref, chatId: chat.chat_id, msgs: visible, nextBeforeId: full ? rows[rows.length - 1]!.id : 0 });
  }

  async info({ state, ref, frame }: Query<L>): Promise<void> {
    try {
      if (frame.body === 'group_info') await this.groupInfo(state, ref, frame.group_info.chat_id);
      else if (frame.body === 'message_info') await this.messageInfo(state, ref, frame);
    } catch (err) {
      replyError(this.ctx, state, ref, err);
    }
  }

  private async groupInfo(state: Query<L>['state'], ref: number, chatId: string): Promise<void> {
    const chat = await this.ctx.chats.memberChat(chatId, state.user, ChatKind.Group);
    this.ctx.out.emit({ t: 'group_info', to: state, ref, chat });
  }

  private async messageInfo(state: Query<L>['state'], ref: number, frame: ClientFrame & { body: 'message_info' }): Promise<void> {
    const chat = await this.ctx.chats.memberChat(frame.message_info.chat_id, state.user);
    const id = frame.message_info.id;
    const deliveredTo: number[] = [];
    const readBy: number[] = [];
    for (const m of chat.members.values()) {
      if (m.user === state.user) continue;
      if (m.delivered_id >= id) deliveredTo.push(m.user);
      if (m.read_id >= id) readBy.push(m.user);
    }
    this.ctx.out.emit({ t: 'message_info', to: state, ref, chatId: chat.chat_id, id, deliveredTo, readBy });
  }
}
