// Which partition (server/common/partitions.ts) a client frame belongs to: the
// gateway routes the frame to that partition's owner, and the owner checks it
// serves the partition before acting. Work keyed by a user (presence
// subscriptions, group creation: a new group lives in its creator's
// partition) goes by the sending user.
import { directChatId, partitionOf } from './chat-id';
import { partitionOfUser } from './partitions';
import type { ClientFrame } from './protocol';

/** The frame's partition; -1 for a frame that needs none (ping, answered at the gateway). */
export function partitionOfFrame(frame: ClientFrame, user: number): number {
  switch (frame.body) {
    case 'send':
      return partitionOf(frame.send.chat_id ? frame.send.chat_id : directChatId(user, frame.send.to_user));
    case 'ack':
      return partitionOf(frame.ack.chat_id);
    case 'history':
      return partitionOf(frame.history.chat_id);
    case 'group_change':
      return partitionOf(frame.group_change.chat_id);
    case 'group_info':
      return partitionOf(frame.group_info.chat_id);
    case 'message_info':
      return partitionOf(frame.message_info.chat_id);
    case 'presence_subscribe':
    case 'set_privacy':
    case 'create_group':
    case 'keys_upload': // the key directory's atomicity is the store's (docs/design/021-e2ee.md): any node may serve these
    case 'key_bundle_request':
      return partitionOfUser(user);
    case 'ping':
      return -1;
  }
}
