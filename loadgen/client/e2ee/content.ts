// What a decrypted 1:1 payload holds: a text for the user, or a group sender
// key's distribution message (group-keys.ts) riding the 1:1 session. One type
// byte in front, inside the encryption, so the server cannot tell them apart.
//
//   0x01 text:       0x01, text bytes
//   0x02 sender key: 0x02, chat id length (1 byte), chat id (UTF-8), distribution message
export type Content =
  | { kind: 'text'; text: Uint8Array }
  | { kind: 'sender_key'; chatId: string; distribution: Uint8Array };

const TEXT = 0x01;
const SENDER_KEY = 0x02;

export function textContent(text: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(1 + text.length);
  out[0] = TEXT;
  out.set(text, 1);
  return out;
}

export function senderKeyContent(chatId: string, distribution: Uint8Array): Uint8Array {
  const id = Buffer.from(chatId);
  if (id.length > 255) throw new Error('chat id longer than 255 bytes');
  return Buffer.concat([Buffer.from([SENDER_KEY, id.length]), id, distribution]);
}

export function decodeContent(bytes: Uint8Array): Content {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b[0] === TEXT) return { kind: 'text', text: b.subarray(1) };
  if (b[0] === SENDER_KEY && b.length >= 2 && b.length >= 2 + b[1]!) {
    return { kind: 'sender_key', chatId: b.subarray(2, 2 + b[1]!).toString(), distribution: b.subarray(2 + b[1]!) };
  }
  throw new Error(`unknown content type ${b[0]}`);
}
