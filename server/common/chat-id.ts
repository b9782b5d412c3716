// Chat ids. A 1:1 chat's id is derived from its two members (sorted), so both
// sides name it the same way without a lookup: "d.<low>.<high>". Groups are
// "g.<id of their creation>".
import { laneOfId } from './ids';
import { hashPartition } from './partitions';

export function directChatId(a: number, b: number): string {
  return a < b ? `d.${a}.${b}` : `d.${b}.${a}`;
}

export function isDirectChatId(chatId: string): boolean {
  return chatId.startsWith('d.');
}

/**
 * The partition a chat lives in (server/common/partitions.ts). A 1:1 chat's by
 * hash of its id; a group's is the partition its id was minted in ("g.<id>"),
 * which is its creator's own partition: the node that creates a group owns it
 * at once, with no search for an id that hashes to one of its partitions.
 */
export function partitionOf(chatId: string): number {
  if (chatId.charCodeAt(0) === 103 /* g */ && chatId.charCodeAt(1) === 46 /* . */) {
    const id = Number(chatId.slice(2));
    if (Number.isSafeInteger(id) && id > 0) return laneOfId(id);
  }
  return hashPartition(chatId);
}
