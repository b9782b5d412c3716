// Chat ids. A 1:1 chat's id is derived from its two members (sorted), so both
// sides name it the same way without a lookup: "d.<low>.<high>". Groups are
// "g.<id of their creation>".

export function directChatId(a: number, b: number): string {
  return a < b ? `d.${a}.${b}` : `d.${b}.${a}`;
}

export function isDirectChatId(chatId: string): boolean {
  return chatId.startsWith('d.');
}
