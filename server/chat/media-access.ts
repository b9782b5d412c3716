// The ChatAccess control call (docs/design/022-media.md): may this user read or
// post media in this chat? A 1:1 chat's members are in its id ("d.<a>.<b>"),
// so no store read; a group's come from the store, which holds every acked
// membership change (a tick commits before it acks), so a member removed a
// moment ago is already refused. One store read per group check.
import { isDirectChatId } from '../common/chat-id';
import type { Limits } from '../common/config';
import { chatIdProblem } from '../common/validation';
import type { MessageStore } from '../store/store';

export interface ChatAccessReply {
  member: boolean;
  members: number;
}

export async function chatAccess(store: MessageStore, limits: Limits, req: { user: number; chat_id: string }): Promise<ChatAccessReply> {
  const user = Number(req.user);
  const chatId = String(req.chat_id ?? '');
  if (!Number.isSafeInteger(user) || user <= 0 || chatIdProblem(chatId, 'chat_id', limits)) return { member: false, members: 0 };
  if (isDirectChatId(chatId)) {
    const m = /^d\.([1-9][0-9]{0,15})\.([1-9][0-9]{0,15})$/.exec(chatId);
    if (!m || Number(m[1]) >= Number(m[2])) return { member: false, members: 0 };
    return { member: Number(m[1]) === user || Number(m[2]) === user, members: 2 };
  }
  const chat = await store.loadChat(chatId);
  if (!chat) return { member: false, members: 0 };
  return { member: chat.members.has(user), members: chat.members.size };
}
